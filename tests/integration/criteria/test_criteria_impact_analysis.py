"""Impact analysis before approval (handbook step 4), through real criteria, scoring and
exam_reports servers.

Scoring applies document review of all tobacco (``criteria/tobacco-documents``);
the criterion under analysis sends cigarettes (HS 2402) to a RED enforcement
examination. Office 30 can carry out two enforcement examinations a day;
office 40 is unknown to exam_reports.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from criteria_support import (
    ANALYST,
    AUDITOR,
    NOWHERE,
    RMC,
    SUPERVISOR,
    Criteria,
    PeerServices,
    StartCriteria,
    criterion,
    declaration,
    error_details,
    lodge,
    open_office,
    reason,
    violated_fields,
)
from customs.common.v1 import selectivity_pb2
from customs.criteria.v1 import criteria_service_pb2 as pb
from customs.criteria.v1 import criterion_pb2, impact_analysis_pb2
from customs.exam_reports.v1 import office_pb2

from customs_kit.testing.services import SigningKeys

RED = selectivity_pb2.CHANNEL_RED
YELLOW = selectivity_pb2.CHANNEL_YELLOW
ENFORCEMENT = selectivity_pb2.EXAMINATION_LEVEL_ENFORCEMENT
SUBMITTED = criterion_pb2.CRITERION_STATE_SUBMITTED
ACTIVE = criterion_pb2.CRITERION_STATE_ACTIVE
#: When the declarations of these tests were lodged: inside any lookback window.
LODGED = datetime.now(UTC) - timedelta(hours=1)
DAY = LODGED.date().isoformat()


@pytest.fixture
async def traffic(peer_services: PeerServices, test_keys: SigningKeys) -> None:
    """Three cigarette declarations and one of wood at office 30, one of cigarettes at 40."""
    await open_office(
        peer_services.exam_reports,
        test_keys,
        "30",
        [
            office_pb2.ExaminationCapacity(
                channel=RED, examination_level=ENFORCEMENT, examinations_per_day=2
            ),
            office_pb2.ExaminationCapacity(channel=YELLOW, examinations_per_day=5),
        ],
    )
    await lodge(
        peer_services.scoring,
        test_keys,
        declaration("30/2026/000001", "240220", LODGED),
        declaration("30/2026/000002", "240220", LODGED),
        declaration("30/2026/000003", "240290", LODGED),
        declaration("30/2026/000004", "440890", LODGED),
        declaration("40/2026/000001", "240220", LODGED, office_code="40"),
    )


async def submitted_criterion(criteria: Criteria) -> criterion_pb2.Criterion:
    profile = await criteria.create_profile()
    return await criteria.submit(await criteria.create(criterion(profile)))


def loads(day: impact_analysis_pb2.OfficeDayImpact) -> dict[tuple[int, int], tuple[int, ...]]:
    """(channel, level) → (added, total, capacity, capacity_known, exceeds_capacity)."""
    return {
        (load.channel, load.examination_level): (
            load.added,
            load.total,
            load.capacity,
            load.capacity_known,
            load.exceeds_capacity,
        )
        for load in day.examinations
    }


@pytest.mark.usefixtures("traffic")
async def test_an_analysis_shows_the_expected_hits_and_examinations_per_office_and_day(
    criteria: Criteria,
) -> None:
    submitted = await submitted_criterion(criteria)

    analysis = await criteria.analyze(submitted, lookback_days=7)

    assert analysis.name.startswith(f"{submitted.name}/impactAnalyses/")
    assert analysis.criterion_revision == submitted.revision
    assert analysis.requested_by == "ana"
    window = analysis.end_time.ToDatetime(UTC) - analysis.start_time.ToDatetime(UTC)
    assert window == timedelta(days=7)
    assert (analysis.declarations_replayed, analysis.hits, analysis.selections) == (5, 4, 4)
    days = {(d.office_code, d.day): d for d in analysis.office_days}
    assert list(days) == [("30", DAY), ("40", DAY)]
    port = days[("30", DAY)]
    assert (port.hits, port.selections) == (3, 3)
    # Three enforcement examinations where two can be done: 150 % of capacity.
    assert loads(port)[(RED, ENFORCEMENT)] == (3, 3, 2, True, True)
    # The declarations leave document review for the physical examination.
    assert loads(port)[(YELLOW, 0)] == (0, 0, 5, True, False)
    assert port.exceeds_capacity
    inland = days[("40", DAY)]
    assert loads(inland)[(RED, ENFORCEMENT)] == (1, 1, 0, False, False)
    assert not inland.exceeds_capacity
    [exceedance] = analysis.capacity_exceedances
    assert (exceedance.office_code, exceedance.days_exceeded, exceedance.worst_day) == (
        "30",
        1,
        DAY,
    )
    assert exceedance.worst_utilisation_percent == pytest.approx(150.0)
    assert [(o.criterion, o.shared_selections) for o in analysis.overlaps] == [
        ("criteria/tobacco-documents", 4)
    ]
    assert analysis.scoring_criteria_revision == 1


async def test_analyses_are_stored_and_listed_newest_first(criteria: Criteria) -> None:
    submitted = await submitted_criterion(criteria)
    first = await criteria.analyze(submitted, lookback_days=30)
    second = await criteria.analyze(submitted, lookback_days=7, caller=SUPERVISOR)

    page = await criteria.call(
        "ListImpactAnalyses", pb.ListImpactAnalysesRequest(parent=submitted.name, page_size=1), RMC
    )
    rest = await criteria.call(
        "ListImpactAnalyses",
        pb.ListImpactAnalysesRequest(
            parent=submitted.name, page_size=1, page_token=page.next_page_token
        ),
        RMC,
    )
    fetched = await criteria.call(
        "GetImpactAnalysis", pb.GetImpactAnalysisRequest(name=first.name), SUPERVISOR
    )

    assert [a.name for a in page.impact_analyses] == [second.name]
    assert [a.name for a in rest.impact_analyses] == [first.name]
    assert rest.next_page_token == ""
    assert fetched.impact_analysis == first
    assert second.requested_by == "sam"


async def test_a_retried_analysis_returns_the_first_one_and_stores_one(
    criteria: Criteria,
) -> None:
    submitted = await submitted_criterion(criteria)
    request_id = str(uuid.uuid4())

    first = await criteria.analyze(submitted, request_id=request_id)
    again = await criteria.analyze(submitted, request_id=request_id)

    assert again == first
    listed = await criteria.call(
        "ListImpactAnalyses", pb.ListImpactAnalysesRequest(parent=submitted.name), ANALYST
    )
    assert [a.name for a in listed.impact_analyses] == [first.name]


async def test_unknown_analyses_and_criteria_are_not_found(criteria: Criteria) -> None:
    submitted = await submitted_criterion(criteria)

    with pytest.raises(grpc.aio.AioRpcError) as no_analysis:
        await criteria.call(
            "GetImpactAnalysis",
            pb.GetImpactAnalysisRequest(name=f"{submitted.name}/impactAnalyses/never-made"),
            ANALYST,
        )
    with pytest.raises(grpc.aio.AioRpcError) as no_criterion:
        await criteria.call(
            "AnalyzeImpact",
            pb.AnalyzeImpactRequest(
                criterion="criteria/nobody-wrote-it",
                revision=1,
                lookback_days=7,
                request_id=str(uuid.uuid4()),
            ),
            ANALYST,
        )

    assert no_analysis.value.code() == grpc.StatusCode.NOT_FOUND
    assert no_criterion.value.code() == grpc.StatusCode.NOT_FOUND


async def test_only_the_latest_revision_can_be_analysed(criteria: Criteria) -> None:
    submitted = await submitted_criterion(criteria)
    submitted.title = "Cigarettes and cigars"
    await criteria.update(submitted, ["title"])

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await criteria.analyze(submitted)

    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason(refused.value) == "REVISION_MISMATCH"


async def test_analysis_is_for_the_committee_and_analysts_and_needs_a_sane_window(
    criteria: Criteria,
) -> None:
    submitted = await submitted_criterion(criteria)

    with pytest.raises(grpc.aio.AioRpcError) as auditor:
        await criteria.analyze(submitted, caller=AUDITOR)
    with pytest.raises(grpc.aio.AioRpcError) as no_window:
        await criteria.analyze(submitted, lookback_days=0)

    assert auditor.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert no_window.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(no_window.value) == ["lookback_days"]


async def test_approval_without_an_impact_analysis_is_refused(criteria: Criteria) -> None:
    submitted = await submitted_criterion(criteria)

    with pytest.raises(grpc.aio.AioRpcError) as uncited:
        await criteria.approve(submitted, impact_analysis="")
    with pytest.raises(grpc.aio.AioRpcError) as never_made:
        await criteria.approve(
            submitted, impact_analysis=f"{submitted.name}/impactAnalyses/never-made"
        )

    assert uncited.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(uncited.value) == ["impact_analysis"]
    assert never_made.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason(never_made.value) == "IMPACT_ANALYSIS_REQUIRED"
    assert (await criteria.get(submitted.name)).state == SUBMITTED


async def test_an_analysis_of_an_earlier_revision_does_not_approve_the_amended_one(
    criteria: Criteria,
) -> None:
    submitted = await submitted_criterion(criteria)
    analysis = await criteria.analyze(submitted)
    submitted.title = "Cigarettes, also hand-rolling tobacco"
    amended = await criteria.submit(await criteria.update(submitted, ["title"]))

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await criteria.approve(amended, impact_analysis=analysis.name)

    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason(refused.value) == "IMPACT_ANALYSIS_REQUIRED"
    [violation] = error_details(refused.value)["PreconditionFailure"].violations
    assert violation.subject == analysis.name
    assert "revision 1" in violation.description
    assert (await criteria.get(amended.name)).state == SUBMITTED


@pytest.mark.usefixtures("traffic")
async def test_approval_over_capacity_is_refused_naming_the_office_unless_justified(
    criteria: Criteria,
) -> None:
    submitted = await submitted_criterion(criteria)
    analysis = await criteria.analyze(submitted)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await criteria.approve(submitted, impact_analysis=analysis.name)
    approved = await criteria.approve(
        submitted,
        impact_analysis=analysis.name,
        capacity_justification="Two officers seconded to the port for the campaign.",
    )

    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason(refused.value) == "CAPACITY_EXCEEDED"
    violations = error_details(refused.value)["PreconditionFailure"].violations
    assert [(v.type, v.subject) for v in violations] == [("CAPACITY", "offices/30")]
    assert DAY in violations[0].description
    assert approved.state == ACTIVE
    versions = await criteria.call(
        "ListCriterionVersions", pb.ListCriterionVersionsRequest(parent=approved.name), AUDITOR
    )
    approval = versions.criterion_versions[-1].change
    recorded = {c.path: c.new_value for c in approval.field_changes}
    assert approval.actor == "rita"
    assert json.loads(recorded["capacity_justification"]) == (
        "Two officers seconded to the port for the campaign."
    )
    assert json.loads(recorded["capacity_exceeded_offices"]) == ["30"]
    assert json.loads(recorded["impact_analysis"]) == analysis.name


@pytest.mark.parametrize("down", ["scoring", "exam-reports"])
@pytest.mark.usefixtures("traffic")
async def test_with_a_peer_down_analysis_is_unavailable_and_nothing_is_stored(
    start_criteria: StartCriteria, peer_services: PeerServices, down: str
) -> None:
    addresses = {**peer_services.addresses, down: NOWHERE}
    async with start_criteria(addresses) as criteria:
        submitted = await submitted_criterion(criteria)

        with pytest.raises(grpc.aio.AioRpcError) as unavailable:
            await criteria.analyze(submitted)

        listed = await criteria.call(
            "ListImpactAnalyses", pb.ListImpactAnalysesRequest(parent=submitted.name), ANALYST
        )
    assert unavailable.value.code() == grpc.StatusCode.UNAVAILABLE
    assert reason(unavailable.value) == f"{down.upper().replace('-', '_')}_UNAVAILABLE"
    assert down in unavailable.value.details()
    assert list(listed.impact_analyses) == []
