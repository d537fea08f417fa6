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
from scoring_support import StartScoring, criterion, declaration, hs_prefix, item, snapshot

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


@contextlib.asynccontextmanager
async def exam_reports_with_office(
    make_settings: Callable[..., ServiceSettings], tmp_path: Path, keys: SigningKeys
) -> AsyncIterator[RunningService]:
    """A real exam_reports whose office 30 examines two commercial samples a day."""
    settings = make_settings(
        "exam-reports",
        f"sqlite+aiosqlite:///{tmp_path / 'exam-reports.db'}",
        {peer: "127.0.0.1:9" for peer in ("scoring", "criteria", "compliance", "audit-referral")},
    )
    async with running_service(settings, exam_reports_bootstrap) as service:
        stub = exam_reports_service_pb2_grpc.ExamReportsServiceStub(service.channel)
        operator = keys.metadata(Role.OPERATOR, subject="oscar")
        await stub.CreateOffice(
            exam_reports_service_pb2.CreateOfficeRequest(
                request_id=str(uuid.uuid4()),
                office_id="30",
                office=office_pb2.Office(
                    display_name="Office 30", time_zone="Africa/Nairobi", active=True
                ),
            ),
            metadata=operator,
        )
        await stub.CreateExaminationFacility(
            exam_reports_service_pb2.CreateExaminationFacilityRequest(
                parent="offices/30",
                request_id=str(uuid.uuid4()),
                examination_facility_id="shed-1",
                examination_facility=office_pb2.ExaminationFacility(
                    display_name="Examination shed 1",
                    daily_capacities=[
                        office_pb2.ExaminationCapacity(
                            channel=RED, examination_level=SAMPLE, examinations_per_day=2
                        )
                    ],
                    active=True,
                ),
            ),
            metadata=operator,
        )
        yield service


def lodgement(number: int, hs_code: str) -> declaration_pb2.Declaration:
    return declaration(f"30/2026/{number:06d}", item(hs_code=hs_code), lodged=datetime.now(UTC))


async def test_when_the_day_is_full_a_selection_is_downgraded_but_a_mandatory_one_is_not(
    start_scoring: StartScoring,
    make_settings: Callable[..., ServiceSettings],
    tmp_path: Path,
    test_keys: SigningKeys,
) -> None:
    system = test_keys.metadata(Role.DECLARATION_SYSTEM, subject="asycuda")
    rmc = test_keys.metadata(Role.RMC, subject="rita")
    async with (
        exam_reports_with_office(make_settings, tmp_path, test_keys) as exam_reports,
        start_scoring(RULES, peers={"exam-reports": exam_reports.address}) as scoring,
    ):
        stub = Stub(scoring.channel)
        await stub.UpdateCapacityPolicy(
            update(FULL_MEANS_DOCUMENTS, allow_missing=True), metadata=rmc
        )

        async def lodge(
            message: declaration_pb2.Declaration,
        ) -> scoring_service_pb2.AssessDeclarationResponse:
            return await stub.AssessDeclaration(
                scoring_service_pb2.AssessDeclarationRequest(declaration=message), metadata=system
            )

        # Scoring learns the office's capacity in the background, never on the hot path:
        # declarations that select nothing show when it has.
        for number in range(1, 100):
            probe = (await lodge(lodgement(number, "010121"))).assessment
            if probe.replay.capacity.known:
                break
            await asyncio.sleep(0.05)
        assert probe.replay.capacity.known, "scoring never learnt office 30's capacity"
        assert probe.channel == GREEN

        first = (await lodge(lodgement(101, "440890"))).assessment
        second = (await lodge(lodgement(102, "440890"))).assessment
        third = (await lodge(lodgement(103, "440890"))).assessment
        weapons = (await lodge(lodgement(104, "930200"))).assessment

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

        auditor = test_keys.metadata(Role.AUDITOR, subject="audrey")
        stored = await stub.GetAssessment(
            scoring_service_pb2.GetAssessmentRequest(name=third.name), metadata=auditor
        )
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
        assert explained.explanation.steps[-1] == "Channel YELLOW after the capacity downgrades."
