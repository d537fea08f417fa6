"""Capacity awareness through real servers: capacity policies, and downgrades when an
office's examinations for the day run out, with its capacity read from a real
exam_reports server.

Office 30 (Nairobi time) can carry out two commercial-sample examinations a
day. Wood (HS 4408) is selected for one by a priority-60 criterion; weapons
(HS 9302) by a mandatory one.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest
from customs.common.v1 import selection_rule_pb2, selectivity_pb2
from customs.exam_reports.v1 import (
    exam_reports_service_pb2,
    exam_reports_service_pb2_grpc,
    examination_pb2,
    office_pb2,
)
from customs.scoring.v1 import (
    assessment_pb2,
    capacity_policy_pb2,
    declaration_pb2,
    scoring_service_pb2,
    scoring_service_pb2_grpc,
)
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from scoring_support import (
    StartScoring,
    criterion,
    declaration,
    hs_prefix,
    item,
    snapshot,
    until_serving,
)
from sqlalchemy import make_url

from customs_kit.auth import Role
from customs_kit.settings import ServiceSettings
from customs_kit.testing.services import RunningService, SigningKeys, running_service
from exam_reports.entrypoints.server import bootstrap as exam_reports_bootstrap

RED = selectivity_pb2.CHANNEL_RED
YELLOW = selectivity_pb2.CHANNEL_YELLOW
GREEN = selectivity_pb2.CHANNEL_GREEN
SAMPLE = selectivity_pb2.EXAMINATION_LEVEL_COMMERCIAL_SAMPLE
DEFAULT = "capacityPolicies/default"

RULES = snapshot(
    3,
    [
        criterion("wood", hs_prefix("4408"), level="COMMERCIAL_SAMPLE", priority=60),
        criterion(
            "weapons", hs_prefix("9302"), level="COMMERCIAL_SAMPLE", priority=1, mandatory=True
        ),
    ],
)
#: Once the day's examinations are all taken, everything but priority 1 is a document review.
FULL_MEANS_DOCUMENTS = capacity_policy_pb2.CapacityPolicy(
    name=DEFAULT,
    rules=[
        capacity_policy_pb2.DowngradeRule(
            selected_channel=RED,
            utilisation_percent=100,
            min_priority=2,
            downgrade_to=YELLOW,
            documents_to_check=[
                selection_rule_pb2.DocumentRequirement(
                    document_type_code="N271", description="Packing list"
                )
            ],
        )
    ],
)

Stub = scoring_service_pb2_grpc.ScoringServiceStub


def details(error: grpc.aio.AioRpcError) -> tuple[str, list[tuple[str, str]]]:
    """The error's reason and its (field, description) violations."""
    status = rpc_status.from_call(error)
    assert status is not None
    reason, violations = "", []
    for packed in status.details:
        if packed.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            packed.Unpack(info)
            reason = info.reason
        if packed.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            packed.Unpack(bad)
            violations = [(v.field, v.description) for v in bad.field_violations]
    return reason, violations


def update(
    policy: capacity_policy_pb2.CapacityPolicy,
    *paths: str,
    allow_missing: bool = False,
) -> scoring_service_pb2.UpdateCapacityPolicyRequest:
    return scoring_service_pb2.UpdateCapacityPolicyRequest(
        capacity_policy=policy,
        update_mask=field_mask_pb2.FieldMask(paths=list(paths) or ["rules"]),
        allow_missing=allow_missing,
    )


@pytest.fixture
async def stub(start_scoring: StartScoring) -> AsyncIterator[Stub]:
    async with start_scoring(RULES) as scoring:
        yield Stub(scoring.channel)


# --- capacity policies -------------------------------------------------------------


async def test_an_rmc_member_creates_and_changes_policies_under_one_revision_sequence(
    stub: Stub, test_keys: SigningKeys
) -> None:
    rmc = test_keys.metadata(Role.RMC, subject="rita")
    analyst = test_keys.metadata(Role.ANALYST, subject="ana")

    created = (
        await stub.UpdateCapacityPolicy(
            update(FULL_MEANS_DOCUMENTS, allow_missing=True), metadata=rmc
        )
    ).capacity_policy
    office = capacity_policy_pb2.CapacityPolicy(
        name="capacityPolicies/30", downgrade_random_examinations=True
    )
    office_created = (
        await stub.UpdateCapacityPolicy(
            update(office, "downgrade_random_examinations", allow_missing=True), metadata=rmc
        )
    ).capacity_policy
    read = (
        await stub.GetCapacityPolicy(
            scoring_service_pb2.GetCapacityPolicyRequest(name=DEFAULT), metadata=analyst
        )
    ).capacity_policy

    assert (created.revision, created.updated_by) == (1, "rita")
    assert list(created.rules) == list(FULL_MEANS_DOCUMENTS.rules)
    assert created.etag
    assert created.HasField("update_time")
    assert read == created
    assert office_created.revision == 2
    assert office_created.downgrade_random_examinations
    assert not office_created.rules

    edited = capacity_policy_pb2.CapacityPolicy()
    edited.CopyFrom(read)
    edited.rules[0].min_priority = 10
    changed = (await stub.UpdateCapacityPolicy(update(edited), metadata=rmc)).capacity_policy
    assert changed.revision == 3
    assert changed.rules[0].min_priority == 10
    assert changed.etag != created.etag

    first_page = await stub.ListCapacityPolicies(
        scoring_service_pb2.ListCapacityPoliciesRequest(page_size=1), metadata=analyst
    )
    second_page = await stub.ListCapacityPolicies(
        scoring_service_pb2.ListCapacityPoliciesRequest(
            page_size=1, page_token=first_page.next_page_token
        ),
        metadata=analyst,
    )
    assert [p.name for p in first_page.capacity_policies] == ["capacityPolicies/30"]
    assert [p.name for p in second_page.capacity_policies] == [DEFAULT]
    assert second_page.capacity_policies[0] == changed
    assert not second_page.next_page_token


async def test_a_stale_etag_is_refused_and_changes_nothing(
    stub: Stub, test_keys: SigningKeys
) -> None:
    rmc = test_keys.metadata(Role.RMC, subject="rita")
    created = (
        await stub.UpdateCapacityPolicy(
            update(FULL_MEANS_DOCUMENTS, allow_missing=True), metadata=rmc
        )
    ).capacity_policy
    await stub.UpdateCapacityPolicy(update(created), metadata=rmc)

    stale = capacity_policy_pb2.CapacityPolicy()
    stale.CopyFrom(created)
    del stale.rules[:]
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.UpdateCapacityPolicy(update(stale), metadata=rmc)

    assert raised.value.code() == grpc.StatusCode.ABORTED
    current = await stub.GetCapacityPolicy(
        scoring_service_pb2.GetCapacityPolicyRequest(name=DEFAULT), metadata=rmc
    )
    assert current.capacity_policy.revision == 2
    assert len(current.capacity_policy.rules) == 1


async def test_a_missing_policy_is_not_found_unless_created(
    stub: Stub, test_keys: SigningKeys
) -> None:
    rmc = test_keys.metadata(Role.RMC, subject="rita")
    missing = capacity_policy_pb2.CapacityPolicy(name="capacityPolicies/40", etag="x")

    for call in (
        stub.UpdateCapacityPolicy(update(missing), metadata=rmc),
        stub.GetCapacityPolicy(
            scoring_service_pb2.GetCapacityPolicyRequest(name="capacityPolicies/40"), metadata=rmc
        ),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await call
        assert raised.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(
    ("request_message", "field", "words"),
    [
        (
            update(
                capacity_policy_pb2.CapacityPolicy(
                    name=DEFAULT,
                    rules=[
                        capacity_policy_pb2.DowngradeRule(
                            selected_channel=YELLOW,
                            utilisation_percent=90,
                            min_priority=5,
                            downgrade_to=YELLOW,
                        )
                    ],
                ),
                allow_missing=True,
            ),
            "capacity_policy.rules[0]",
            "downgrade_to",
        ),
        (
            update(
                capacity_policy_pb2.CapacityPolicy(
                    name=DEFAULT,
                    rules=[
                        capacity_policy_pb2.DowngradeRule(
                            selected_channel=RED,
                            utilisation_percent=1500,
                            min_priority=5,
                            downgrade_to=GREEN,
                        )
                    ],
                ),
                allow_missing=True,
            ),
            "capacity_policy.rules[0].utilisation_percent",
            "",
        ),
        (
            update(FULL_MEANS_DOCUMENTS, "etag", allow_missing=True),
            "update_mask",
            "",
        ),
        (
            update(capacity_policy_pb2.CapacityPolicy(name="offices/30"), allow_missing=True),
            "capacity_policy.name",
            "",
        ),
    ],
    ids=["downgrade-not-lower", "utilisation-too-high", "unknown-mask-path", "bad-name"],
)
async def test_an_invalid_policy_is_refused_naming_the_field(
    stub: Stub,
    test_keys: SigningKeys,
    request_message: scoring_service_pb2.UpdateCapacityPolicyRequest,
    field: str,
    words: str,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.UpdateCapacityPolicy(
            request_message, metadata=test_keys.metadata(Role.RMC, subject="rita")
        )

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    _, violations = details(raised.value)
    assert any(name == field and words in text for name, text in violations), violations


async def test_only_the_risk_management_committee_changes_policies(
    stub: Stub, test_keys: SigningKeys
) -> None:
    request = update(FULL_MEANS_DOCUMENTS, allow_missing=True)
    get = scoring_service_pb2.GetCapacityPolicyRequest(name=DEFAULT)

    for role in (Role.ANALYST, Role.SUPERVISOR, Role.DECLARATION_SYSTEM):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await stub.UpdateCapacityPolicy(request, metadata=test_keys.metadata(role))
        assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.GetCapacityPolicy(get, metadata=test_keys.metadata(Role.OFFICER))
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.GetCapacityPolicy(get)
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED


# --- downgrades under exhausted capacity -------------------------------------------


async def create_office(
    exam_reports: RunningService,
    keys: SigningKeys,
    office: str,
    *,
    capacity: int,
    time_zone: str = "Africa/Nairobi",
) -> None:
    """An operator opens ``office`` with one shed examining ``capacity`` commercial samples."""
    stub = exam_reports_service_pb2_grpc.ExamReportsServiceStub(exam_reports.channel)
    operator = keys.metadata(Role.OPERATOR, subject="oscar")
    await stub.CreateOffice(
        exam_reports_service_pb2.CreateOfficeRequest(
            request_id=str(uuid.uuid4()),
            office_id=office,
            office=office_pb2.Office(
                display_name=f"Office {office}", time_zone=time_zone, active=True
            ),
        ),
        metadata=operator,
    )
    await stub.CreateExaminationFacility(
        exam_reports_service_pb2.CreateExaminationFacilityRequest(
            parent=f"offices/{office}",
            request_id=str(uuid.uuid4()),
            examination_facility_id="shed-1",
            examination_facility=office_pb2.ExaminationFacility(
                display_name="Examination shed 1",
                daily_capacities=[
                    office_pb2.ExaminationCapacity(
                        channel=RED, examination_level=SAMPLE, examinations_per_day=capacity
                    )
                ],
                active=True,
            ),
        ),
        metadata=operator,
    )


@contextlib.asynccontextmanager
async def running_exam_reports(
    make_settings: Callable[..., ServiceSettings], tmp_path: Path
) -> AsyncIterator[RunningService]:
    """A real exam_reports on its own database (its peers unreachable)."""
    settings = make_settings(
        "exam-reports",
        f"sqlite+aiosqlite:///{tmp_path / 'exam-reports.db'}",
        {peer: "127.0.0.1:9" for peer in ("scoring", "criteria", "compliance", "audit-referral")},
    )
    async with running_service(settings, exam_reports_bootstrap) as service:
        yield service


def lodgement(
    number: int, hs_code: str, *, office: str = "30", lodged: datetime | None = None
) -> declaration_pb2.Declaration:
    return declaration(
        f"{office}/2026/{number:06d}",
        item(hs_code=hs_code),
        lodged=lodged or datetime.now(UTC),
        office_code=office,
    )


class Lodging:
    """The declaration system lodging declarations at a scoring server."""

    def __init__(self, scoring: RunningService, keys: SigningKeys) -> None:
        self.stub = Stub(scoring.channel)
        self._system = keys.metadata(Role.DECLARATION_SYSTEM, subject="asycuda")

    async def lodge(self, message: declaration_pb2.Declaration) -> assessment_pb2.Assessment:
        response = await self.stub.AssessDeclaration(
            scoring_service_pb2.AssessDeclarationRequest(declaration=message),
            metadata=self._system,
        )
        return response.assessment


async def task_of(
    exam_reports: RunningService, keys: SigningKeys, assessment: assessment_pb2.Assessment
) -> examination_pb2.Examination:
    """The examination task the decision opened, once scoring's outbox delivered it."""
    stub = exam_reports_service_pb2_grpc.ExamReportsServiceStub(exam_reports.channel)
    number = assessment.declaration.declaration_number
    for _ in range(200):
        found = await stub.ListExaminations(
            exam_reports_service_pb2.ListExaminationsRequest(declaration_number=number),
            metadata=keys.metadata(Role.SUPERVISOR, subject="sofia"),
        )
        if found.examinations:
            [task] = found.examinations
            return task
        await asyncio.sleep(0.05)
    raise AssertionError(f"no examination task was opened for {number}")


async def test_when_the_day_is_full_a_selection_is_downgraded_but_a_mandatory_one_is_not(
    start_scoring: StartScoring,
    make_settings: Callable[..., ServiceSettings],
    tmp_path: Path,
    test_keys: SigningKeys,
) -> None:
    rmc = test_keys.metadata(Role.RMC, subject="rita")
    async with running_exam_reports(make_settings, tmp_path) as exam_reports:
        await create_office(exam_reports, test_keys, "30", capacity=2)
        async with start_scoring(RULES, peers={"exam-reports": exam_reports.address}) as scoring:
            await until_serving(scoring)
            desk = Lodging(scoring, test_keys)
            stub = desk.stub
            await stub.UpdateCapacityPolicy(
                update(FULL_MEANS_DOCUMENTS, allow_missing=True), metadata=rmc
            )

            first = await desk.lodge(lodgement(101, "440890"))
            second = await desk.lodge(lodgement(102, "440890"))
            third = await desk.lodge(lodgement(103, "440890"))
            weapons = await desk.lodge(lodgement(104, "930200"))

            assert (first.channel, second.channel) == (RED, RED)
            assert not first.capacity_downgrades
            assert not second.capacity_downgrades
            assert [(u.capacity, u.used) for u in second.replay.capacity.uses] == [(2, 1)]

            assert (third.channel, third.examination_level) == (
                YELLOW,
                selectivity_pb2.EXAMINATION_LEVEL_UNSPECIFIED,
            )
            [downgrade] = third.capacity_downgrades
            assert downgrade.criterion == "criteria/wood"
            assert (downgrade.from_channel, downgrade.from_examination_level) == (RED, SAMPLE)
            assert downgrade.to_channel == YELLOW
            assert downgrade.capacity_policy == DEFAULT
            assert downgrade.utilisation_percent == 100.0
            assert third.criterion_hits[0].outcome == assessment_pb2.HIT_OUTCOME_DOWNGRADED
            assert [d.document.document_type_code for d in third.documents_to_check] == ["N271"]
            assert third.replay.capacity_policies_revision == 1
            assert third.replay.capacity.office_code == "30"
            assert [(u.channel, u.capacity, u.used) for u in third.replay.capacity.uses] == [
                (RED, 2, 2)
            ]

            assert (weapons.channel, weapons.examination_level) == (RED, SAMPLE)
            assert not weapons.capacity_downgrades
            # Over capacity, and the downgraded selection counts as a document review.
            assert [(u.channel, u.capacity, u.used) for u in weapons.replay.capacity.uses] == [
                (RED, 2, 2),
                (YELLOW, 0, 1),
            ]

            # The downgraded selection is still examined: its document review is a task.
            review = await task_of(exam_reports, test_keys, third)
            assert review.channel == YELLOW
            assert review.reason == examination_pb2.EXAMINATION_REASON_CRITERIA
            assert list(review.matched_criteria) == ["criteria/wood"]
            assert [document.code for document in review.documents_to_check] == ["N271"]
            [recorded] = review.capacity_downgrades
            assert (recorded.criterion, recorded.from_channel, recorded.to_channel) == (
                "criteria/wood",
                RED,
                YELLOW,
            )
            assert recorded.from_examination_level == SAMPLE
            assert recorded.capacity_policy == DEFAULT
            assert any(DEFAULT in text for text in review.examiner_instructions)

            auditor = test_keys.metadata(Role.AUDITOR, subject="audrey")
            stored = await stub.GetAssessment(
                scoring_service_pb2.GetAssessmentRequest(name=third.name), metadata=auditor
            )
            # Read back, the assessment also says where its events stand.
            stored.assessment.ClearField("delivery_state")
            assert stored.assessment == third

            # A later change of the policy does not change how the decision replays.
            current = (
                await stub.GetCapacityPolicy(
                    scoring_service_pb2.GetCapacityPolicyRequest(name=DEFAULT), metadata=rmc
                )
            ).capacity_policy
            del current.rules[:]
            await stub.UpdateCapacityPolicy(update(current), metadata=rmc)
            explained = await stub.ExplainAssessment(
                scoring_service_pb2.ExplainAssessmentRequest(name=third.name), metadata=auditor
            )
            assert explained.explanation.replay_identical, explained.explanation.replay_differences
            assert any(
                "downgraded from RED to YELLOW by capacityPolicies/default" in step
                for step in explained.explanation.steps
            )
            assert explained.explanation.steps[-1] == (
                "Channel YELLOW after the capacity downgrades."
            )


async def test_a_new_office_holds_its_capacity_from_a_cold_start_and_across_a_restart(
    start_scoring: StartScoring,
    make_settings: Callable[..., ServiceSettings],
    tmp_path: Path,
    test_keys: SigningKeys,
) -> None:
    rmc = test_keys.metadata(Role.RMC, subject="rita")
    async with running_exam_reports(make_settings, tmp_path) as exam_reports:
        await create_office(exam_reports, test_keys, "40", capacity=3, time_zone="Asia/Tokyo")
        peers = {"exam-reports": exam_reports.address}
        # A scoring that never ran: it knows nothing until exam_reports' snapshot arrives.
        async with start_scoring(RULES, peers=peers) as scoring:
            await until_serving(scoring)
            desk = Lodging(scoring, test_keys)
            await desk.stub.UpdateCapacityPolicy(
                update(FULL_MEANS_DOCUMENTS, allow_missing=True), metadata=rmc
            )
            before = [await desk.lodge(lodgement(n, "440890", office="40")) for n in range(1, 3)]
        # Restarted on the same database: the count of the day continues.
        async with start_scoring(RULES, peers=peers) as scoring:
            await until_serving(scoring)
            desk = Lodging(scoring, test_keys)
            after = [await desk.lodge(lodgement(n, "440890", office="40")) for n in range(3, 6)]

    channels = [assessment.channel for assessment in before + after]
    assert channels == [RED, RED, RED, YELLOW, YELLOW]
    assert all(a.replay.capacity.known for a in before + after)
    assert [u.used for a in after for u in a.replay.capacity.uses if u.channel == RED] == [2, 3, 3]


async def test_a_selection_near_midnight_is_counted_on_the_office_s_own_day(
    start_scoring: StartScoring,
    make_settings: Callable[..., ServiceSettings],
    tmp_path: Path,
    test_keys: SigningKeys,
) -> None:
    rmc = test_keys.metadata(Role.RMC, subject="rita")
    async with running_exam_reports(make_settings, tmp_path) as exam_reports:
        # Tokyo is UTC+9: 14:59 UTC is 23:59 there, 15:01 UTC already the next day.
        await create_office(exam_reports, test_keys, "50", capacity=1, time_zone="Asia/Tokyo")
        async with start_scoring(RULES, peers={"exam-reports": exam_reports.address}) as scoring:
            await until_serving(scoring)
            desk = Lodging(scoring, test_keys)
            await desk.stub.UpdateCapacityPolicy(
                update(FULL_MEANS_DOCUMENTS, allow_missing=True), metadata=rmc
            )

            def at(hour: int, minute: int) -> datetime:
                return datetime(2026, 3, 2, hour, minute, tzinfo=UTC)

            # The first selection at the office is already past its midnight.
            after_midnight = await desk.lodge(lodgement(1, "440890", office="50", lodged=at(15, 1)))
            same_day = await desk.lodge(lodgement(2, "440890", office="50", lodged=at(16, 0)))
            late = await desk.lodge(lodgement(3, "440890", office="50", lodged=at(14, 59)))

    assert (after_midnight.channel, after_midnight.replay.capacity.day) == (RED, "2026-03-03")
    assert (same_day.channel, same_day.replay.capacity.day) == (YELLOW, "2026-03-03")
    assert same_day.capacity_downgrades[0].utilisation_percent == 100.0
    assert (late.channel, late.replay.capacity.day) == (RED, "2026-03-02")


async def test_concurrent_transactions_overshoot_capacity_at_most_by_the_documented_bound(
    start_scoring: StartScoring,
    make_settings: Callable[..., ServiceSettings],
    tmp_path: Path,
    test_keys: SigningKeys,
) -> None:
    """Capacity 3, and 16 selections at once: 4 single calls and 3 bulk streams of 4.

    The single calls share one transaction (group commit) and each stream
    assesses its batch in one, so k = 4 transactions run at once. The README's
    bound: at most k times capacity = 12 examinations kept (exactly 3 on SQLite,
    where transactions are serialised); every other one is downgraded.
    """
    rmc = test_keys.metadata(Role.RMC, subject="rita")
    system = test_keys.metadata(Role.DECLARATION_SYSTEM, subject="asycuda")
    capacity, streams, per_stream, singles = 3, 3, 4, 4
    async with running_exam_reports(make_settings, tmp_path) as exam_reports:
        await create_office(exam_reports, test_keys, "40", capacity=capacity)
        async with start_scoring(RULES, peers={"exam-reports": exam_reports.address}) as scoring:
            await until_serving(scoring)
            desk = Lodging(scoring, test_keys)
            await desk.stub.UpdateCapacityPolicy(
                update(FULL_MEANS_DOCUMENTS, allow_missing=True), metadata=rmc
            )

            async def bulk(first: int) -> list[assessment_pb2.Assessment]:
                requests = [
                    scoring_service_pb2.AssessDeclarationsRequest(
                        declaration=lodgement(first + n, "440890", office="40")
                    )
                    for n in range(per_stream)
                ]
                call = desk.stub.AssessDeclarations(iter(requests), metadata=system)
                return [response.assessment async for response in call]

            results = await asyncio.gather(
                *(bulk(100 * (stream + 1)) for stream in range(streams)),
                *(desk.lodge(lodgement(n, "440890", office="40")) for n in range(1, singles + 1)),
            )
            decided = [
                assessment
                for result in results
                for assessment in (result if isinstance(result, list) else [result])
            ]
            later = await desk.lodge(lodgement(999, "440890", office="40"))

    transactions = streams + 1
    kept = [a for a in decided if a.channel == RED]
    downgraded = [a for a in decided if a.channel == YELLOW]
    assert len(decided) == streams * per_stream + singles
    assert capacity <= len(kept) <= transactions * capacity
    assert len(kept) + len(downgraded) == len(decided)
    assert all(a.capacity_downgrades[0].to_channel == YELLOW for a in downgraded)
    if backend(scoring) == "sqlite":
        assert len(kept) == capacity
    # Once they have committed, the count holds exactly again.
    assert later.channel == YELLOW


def backend(service: RunningService) -> str:
    return make_url(service.settings.database_url).get_backend_name()
