"""Calls to the peers an impact analysis reads: scoring's Simulate, exam_reports' capacity."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import UTC, date, datetime, timedelta

import grpc
import structlog
from customs.common.v1 import selection_rule_pb2, selectivity_pb2
from customs.criteria.v1 import risk_model_pb2 as criteria_risk_model_pb2
from customs.exam_reports.v1 import exam_reports_service_pb2, exam_reports_service_pb2_grpc
from customs.scoring.v1 import (
    disparity_pb2,
    risk_model_pb2,
    scoring_service_pb2,
    scoring_service_pb2_grpc,
    simulation_pb2,
)
from google.protobuf import timestamp_pb2

from criteria.domain.impact import (
    Capacities,
    CriterionOverlap,
    ExaminationType,
    Replay,
    ReplayedLoad,
    ReplayedOfficeDay,
)
from criteria.domain.model import Document
from criteria.domain.oversight import DisparityFinding, DisparitySection
from criteria.domain.risk_models import RiskModelPerformance
from customs_kit.errors import Unavailable

_log = structlog.get_logger(__name__)

#: Call metadata authenticating this service (``Peers.metadata``).
MetadataProvider = Callable[[], Sequence[tuple[str, str]]]

#: A replay reads every declaration of the window; a year of a busy office takes a while.
SIMULATE_TIMEOUT_SECONDS = 300.0
#: The longest date range exam_reports' ListOfficeCapacities answers in one request.
_CAPACITY_WINDOW_DAYS = 90
CAPACITY_TIMEOUT_SECONDS = 30.0
#: The largest page ListOfficeCapacities returns.
_CAPACITY_PAGE = 500


def _timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def _examination_type(
    channel: selectivity_pb2.Channel, level: selectivity_pb2.ExaminationLevel
) -> ExaminationType:
    return ExaminationType(
        selectivity_pb2.Channel.Name(channel), selectivity_pb2.ExaminationLevel.Name(level)
    )


def _unavailable(peer: str, what: str, error: grpc.aio.AioRpcError) -> Unavailable:
    _log.warning("peer_call_failed", peer=peer, call=what, code=error.code().name)
    return Unavailable(
        f"{peer.upper().replace('-', '_')}_UNAVAILABLE",
        f"{peer} could not {what}: {error.code().name}: {error.details()}",
    )


class PeerImpactSources:
    """The ``ImpactSources`` of the service layer, over the channels to the peers."""

    def __init__(
        self,
        scoring: grpc.aio.Channel,
        exam_reports: grpc.aio.Channel,
        metadata: MetadataProvider,
    ) -> None:
        self._scoring = scoring_service_pb2_grpc.ScoringServiceStub(scoring)  # type: ignore[no-untyped-call]
        self._exam_reports = exam_reports_service_pb2_grpc.ExamReportsServiceStub(exam_reports)  # type: ignore[no-untyped-call]
        self._metadata = metadata

    async def replay(
        self,
        criterion: str,
        revision: int,
        rule: Document,
        lodged_from: datetime,
        lodged_before: datetime,
    ) -> Replay:
        """Scoring's Simulate with the revision added to its active set.

        The revision's validity window is left out on purpose: the question is
        what the rule does to a day's examinations, and a window starting next
        month would otherwise replay as no load at all.
        """
        request = scoring_service_pb2.SimulateRequest(
            add_to_active=simulation_pb2.SimulationCriterion(
                criterion=criterion,
                revision=revision,
                rule=selection_rule_pb2.SelectionRule.FromString(rule.encoded),
            ),
            start_time=_timestamp(lodged_from),
            end_time=_timestamp(lodged_before),
        )
        try:
            response: scoring_service_pb2.SimulateResponse = await self._scoring.Simulate(
                request, metadata=tuple(self._metadata()), timeout=SIMULATE_TIMEOUT_SECONDS
            )
        except grpc.aio.AioRpcError as error:
            what = f"replay {criterion} revision {revision}"
            raise _unavailable("scoring", what, error) from None
        impact = next((i for i in response.criterion_impacts if i.criterion == criterion), None)
        return Replay(
            declarations_replayed=response.declarations_replayed,
            hits=impact.hits if impact else 0,
            selections=impact.selections if impact else 0,
            office_days=tuple(
                ReplayedOfficeDay(
                    office_code=day.office_code,
                    day=day.day,
                    hits=day.candidate_hits,
                    selections=day.candidate_selections,
                    overlap_with_active=day.overlap_with_active,
                    audit_referrals_added=day.audit_referrals_added,
                    loads=tuple(
                        ReplayedLoad(
                            _examination_type(load.channel, load.examination_level),
                            added=load.added,
                            total=load.total,
                        )
                        for load in day.examinations
                    ),
                )
                for day in response.office_day_impacts
            ),
            overlaps=tuple(
                CriterionOverlap(overlap.criterion, overlap.shared_selections)
                for overlap in (impact.overlaps if impact else ())
            ),
            scoring_criteria_revision=response.criteria_revision,
        )

    async def capacities(
        self, office_codes: Collection[str], first_day: date, last_day: date
    ) -> Capacities:
        """exam_reports' daily capacity per type of the offices, by office, day and type.

        Read through ListOfficeCapacities, one call per page whatever the
        number of offices; an office exam_reports does not list (unknown or
        inactive) has no known capacity.
        """
        found: dict[tuple[str, str, ExaminationType], int] = {}
        # exam_reports answers at most 92 days per request (a model's
        # impact analysis replays a year).
        window_start = first_day
        while window_start <= last_day:
            window_end = min(last_day, window_start + timedelta(days=_CAPACITY_WINDOW_DAYS - 1))
            found.update(await self._capacities_in(set(office_codes), window_start, window_end))
            window_start = window_end + timedelta(days=1)
        return found

    async def _capacities_in(self, wanted: set[str], first_day: date, last_day: date) -> Capacities:
        found: dict[tuple[str, str, ExaminationType], int] = {}
        page_token = ""
        while True:
            request = exam_reports_service_pb2.ListOfficeCapacitiesRequest(
                start_date=first_day.isoformat(),
                end_date=last_day.isoformat(),
                page_size=_CAPACITY_PAGE,
                page_token=page_token,
            )
            try:
                response: exam_reports_service_pb2.ListOfficeCapacitiesResponse = (
                    await self._exam_reports.ListOfficeCapacities(
                        request, metadata=tuple(self._metadata()), timeout=CAPACITY_TIMEOUT_SECONDS
                    )
                )
            except grpc.aio.AioRpcError as error:
                raise _unavailable(
                    "exam-reports", f"state office capacities from {first_day}", error
                ) from None
            for office in response.office_capacities:
                office_code = office.office.removeprefix("offices/")
                if office_code not in wanted:
                    continue
                for day in office.days:
                    for usage in day.usages:
                        kind = _examination_type(usage.channel, usage.examination_level)
                        found[(office_code, day.date, kind)] = usage.capacity
            page_token = response.next_page_token
            if not page_token:
                return found


class PeerRiskModelSources:
    """Calls to scoring (replay, monitoring, disparity) and exam_reports' capacity."""

    def __init__(
        self,
        scoring: grpc.aio.Channel,
        capacity: PeerImpactSources,
        metadata: MetadataProvider,
    ) -> None:
        self._scoring = scoring_service_pb2_grpc.ScoringServiceStub(scoring)  # type: ignore[no-untyped-call]
        self._capacity = capacity
        self._metadata = metadata

    async def impact(
        self, risk_model: str, threshold: float, lodged_from: datetime, lodged_before: datetime
    ) -> bytes:
        """The RiskModelImpact of scoring's replay, each office's busiest day against capacity."""
        request = scoring_service_pb2.SimulateRiskModelRequest(
            risk_model=risk_model,
            score_threshold=threshold,
            channel=selectivity_pb2.CHANNEL_RED,
            start_time=_timestamp(lodged_from),
            end_time=_timestamp(lodged_before),
        )
        try:
            replay: scoring_service_pb2.SimulateRiskModelResponse = (
                await self._scoring.SimulateRiskModel(
                    request, metadata=tuple(self._metadata()), timeout=SIMULATE_TIMEOUT_SECONDS
                )
            )
        except grpc.aio.AioRpcError as error:
            raise _unavailable("scoring", f"replay {risk_model}", error) from None
        busiest: dict[str, risk_model_pb2.RiskModelOfficeDay] = {}
        for day in replay.office_days:
            best = busiest.get(day.office_code)
            if best is None or day.examinations > best.examinations:
                busiest[day.office_code] = day
        capacities = (
            await self._capacity.capacities(list(busiest), lodged_from.date(), lodged_before.date())
            if busiest
            else {}
        )
        loads = []
        for office, day in sorted(busiest.items()):
            known = [
                capacity
                for (code, when, _), capacity in capacities.items()
                if code == office and when == day.day
            ]
            capacity = sum(known)
            loads.append(
                criteria_risk_model_pb2.RiskModelOfficeLoad(
                    office_code=office,
                    busiest_day=day.day,
                    examinations=day.examinations,
                    model_selections=day.selections,
                    capacity=capacity,
                    capacity_known=bool(known),
                    exceeds_capacity=bool(known) and day.examinations > capacity,
                )
            )
        impact = criteria_risk_model_pb2.RiskModelImpact(
            start_time=_timestamp(lodged_from),
            end_time=_timestamp(lodged_before),
            declarations_replayed=replay.declarations_replayed,
            selections=replay.selections,
            expected_hits=replay.expected_hits,
            overlap_with_active=replay.overlap_with_active,
            channel_counts=[
                criteria_risk_model_pb2.RiskModelChannelCount(
                    channel=count.channel, declarations=count.declarations
                )
                for count in replay.channel_counts
            ],
            office_loads=loads,
            create_time=_timestamp(datetime.now(tz=UTC)),
        )
        return impact.SerializeToString(deterministic=True)

    async def performance(
        self, risk_model: str, threshold: float, start: datetime, end: datetime
    ) -> RiskModelPerformance:
        """Scoring's measurement of the version over the period."""
        request = scoring_service_pb2.GetRiskModelPerformanceRequest(
            risk_model=risk_model,
            score_threshold=threshold,
            start_time=_timestamp(start),
            end_time=_timestamp(end),
        )
        try:
            response: scoring_service_pb2.GetRiskModelPerformanceResponse = (
                await self._scoring.GetRiskModelPerformance(
                    request, metadata=tuple(self._metadata()), timeout=SIMULATE_TIMEOUT_SECONDS
                )
            )
        except grpc.aio.AioRpcError as error:
            raise _unavailable("scoring", f"measure {risk_model}", error) from None
        return RiskModelPerformance(
            scored=response.scored,
            random_examined=response.random_examined,
            random_flagged=response.random_flagged,
            random_flagged_hits=response.random_flagged_hits,
            precision=response.precision,
            precision_lower=response.precision_lower,
            precision_upper=response.precision_upper,
            validation_precision=response.validation_precision,
            population_stability_index=response.population_stability_index,
        )

    async def disparity(
        self, risk_model_threshold: float, start: datetime, end: datetime
    ) -> DisparitySection:
        """Scoring's disparity report over the period, its findings kept."""
        request = scoring_service_pb2.GetDisparityReportRequest(
            start_time=_timestamp(start),
            end_time=_timestamp(end),
            risk_model_score_threshold=risk_model_threshold,
        )
        try:
            response: scoring_service_pb2.GetDisparityReportResponse = (
                await self._scoring.GetDisparityReport(
                    request, metadata=tuple(self._metadata()), timeout=SIMULATE_TIMEOUT_SECONDS
                )
            )
        except grpc.aio.AioRpcError as error:
            raise _unavailable("scoring", "report disparity", error) from None
        report = response.report
        return DisparitySection(
            available=True,
            declarations=report.declarations,
            random_outcomes=report.random_outcomes,
            findings=tuple(
                DisparityFinding(
                    selector=finding.selector,
                    dimension=disparity_pb2.DisparityDimension.Name(finding.dimension)
                    .removeprefix("DISPARITY_DIMENSION_")
                    .lower(),
                    segment=finding.segment,
                    disparity_ratio=finding.disparity_ratio,
                    adjusted_p_value=finding.adjusted_p_value,
                    driving_criteria=tuple(finding.driving_criteria),
                )
                for finding in report.findings
            ),
        )
