"""GetDisparityReport over assessments of the public data set and their examination outcomes."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from customs.common.v1 import selectivity_pb2
from customs.scoring.v1 import (
    declaration_pb2,
    disparity_pb2,
    events_pb2,
    random_examination_rate_pb2,
    scoring_service_pb2,
    scoring_service_pb2_grpc,
)
from declarations_dataset import read_declarations
from google.protobuf.timestamp_pb2 import Timestamp
from scoring_support import StartScoring, code_in, criterion, snapshot

from customs_kit.auth import Role
from customs_kit.testing.services import SigningKeys

Stub = scoring_service_pb2_grpc.ScoringServiceStub
ORIGIN = disparity_pb2.DISPARITY_DIMENSION_ORIGIN_COUNTRY
YELLOW, RED = selectivity_pb2.CHANNEL_YELLOW, selectivity_pb2.CHANNEL_RED
#: Declarations of the data set assessed per scenario.
_PER_MONTH = 480


def _stamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def _principal_origin(message: declaration_pb2.Declaration) -> str:
    best = max(message.items, key=lambda i: (i.customs_value.units, -i.item_number))
    return best.origin_country_code


def _month_of_dataset(skip: int, month: datetime) -> list[declaration_pb2.Declaration]:
    """``_PER_MONTH`` declarations of the data set (after ``skip``), lodged in ``month``."""
    found = []
    for index, message in enumerate(read_declarations()):
        if index < skip:
            continue
        if len(found) == _PER_MONTH:
            break
        message.lodgement_time.FromDatetime(month + timedelta(hours=len(found)))
        found.append(message)
    return found


def _infringing(number: str, percent: int) -> bool:
    """A fixed, well-spread label: ``percent`` % of declaration numbers infringe."""
    return int(hashlib.sha256(number.encode()).hexdigest()[:8], 16) % 100 < percent


async def _assess_and_examine(
    stub: Stub,
    keys: SigningKeys,
    declarations: Sequence[declaration_pb2.Declaration],
    risk_percent: dict[str, int],
) -> None:
    """Assesses the declarations, then sends back an outcome for every one examined."""

    async def requests():  # type: ignore[no-untyped-def]
        for message in declarations:
            yield scoring_service_pb2.AssessDeclarationsRequest(declaration=message)

    responses = stub.AssessDeclarations(requests(), metadata=keys.metadata(Role.DECLARATION_SYSTEM))
    origins = {m.declaration_number: _principal_origin(m) for m in declarations}
    examined = [
        response
        async for response in responses
        if response.assessment.channel in (YELLOW, RED) or response.assessment.randomly_selected
    ]

    async def examine(response: scoring_service_pb2.AssessDeclarationsResponse) -> None:
        assessment, number = response.assessment, response.declaration_number
        percent = risk_percent.get(origins[number], risk_percent["*"])
        await stub.IngestExaminationOutcomeEvent(
            scoring_service_pb2.IngestExaminationOutcomeEventRequest(
                event_id=str(uuid.uuid4()),
                source_service="exam-reports",
                occur_time=assessment.create_time,
                outcome=events_pb2.ExaminationOutcome(
                    examination_report=f"examReports/{uuid.uuid4()}",
                    assessment=assessment.name,
                    declaration_number=number,
                    declaration_version=response.version,
                    examine_time=assessment.create_time,
                    randomly_selected=assessment.randomly_selected,
                    discrepancy_found=_infringing(number, percent),
                ),
            ),
            metadata=keys.metadata(Role.SERVICE),
        )

    await asyncio.gather(*(examine(response) for response in examined))


async def _report(stub: Stub, keys: SigningKeys, month: datetime) -> disparity_pb2.DisparityReport:
    end = month.replace(month=month.month + 1)
    response = await stub.GetDisparityReport(
        scoring_service_pb2.GetDisparityReportRequest(
            start_time=_stamp(month), end_time=_stamp(end)
        ),
        metadata=keys.metadata(Role.ANALYST),
    )
    return response.report


async def _random_rate(stub: Stub, keys: SigningKeys) -> None:
    await stub.SetRandomExaminationRate(
        scoring_service_pb2.SetRandomExaminationRateRequest(
            random_examination_rate=random_examination_rate_pb2.RandomExaminationRate(
                document_review_percent=25
            ),
            reason="compliance measurement",
        ),
        metadata=keys.metadata(Role.RMC, subject="rita"),
    )


def _segment(
    report: disparity_pb2.DisparityReport, selector: str, segment: str
) -> disparity_pb2.DisparitySegment:
    return next(
        row
        for row in report.segments
        if (row.selector, row.dimension, row.segment) == (selector, ORIGIN, segment)
    )


@pytest.mark.timeout(600)
async def test_a_criterion_on_an_origin_without_higher_risk_is_flagged_and_one_with_it_is_not(
    start_scoring: StartScoring, test_keys: SigningKeys
) -> None:
    march, april = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
    first = _month_of_dataset(0, march)
    second = _month_of_dataset(_PER_MONTH, april)
    target = Counter(_principal_origin(m) for m in first).most_common(1)[0][0]
    # March: a criterion examines 60 % of the declarations from the most common
    # origin, whose infringement rate is the same as everywhere else.
    unjustified = snapshot(
        5,
        [
            criterion(
                "origin-watch", code_in("ITEM_ORIGIN_COUNTRY", target), channel="YELLOW", percent=60
            )
        ],
    )
    async with start_scoring(unjustified) as service:
        stub = Stub(service.channel)
        await _random_rate(stub, test_keys)
        await _assess_and_examine(stub, test_keys, first, {"*": 30})
        flagged = await _report(stub, test_keys, march)
    # April: another criterion examines 30 % of the same origin, where the
    # infringement rate is now twice the rest's: as much more as it selects.
    justified = snapshot(
        6,
        [
            criterion(
                "origin-risk", code_in("ITEM_ORIGIN_COUNTRY", target), channel="YELLOW", percent=30
            )
        ],
    )
    async with start_scoring(justified) as service:
        stub = Stub(service.channel)
        await _assess_and_examine(stub, test_keys, second, {target: 60, "*": 30})
        matched = await _report(stub, test_keys, april)
        with pytest.raises(grpc.aio.AioRpcError) as officer:
            await stub.GetDisparityReport(
                scoring_service_pb2.GetDisparityReportRequest(
                    start_time=_stamp(april), end_time=_stamp(march)
                ),
                metadata=test_keys.metadata(Role.ANALYST),
            )

    assert flagged.declarations == _PER_MONTH
    whole = _segment(flagged, "selection", target)
    assert whole.flagged
    assert whole.disparity_ratio > 1.5
    assert (
        whole.random_hit_rate.lower < whole.rest_random_hit_rate.rate < whole.random_hit_rate.upper
    )
    origin_findings = [f for f in flagged.findings if f.dimension == ORIGIN]
    assert [(f.segment, list(f.driving_criteria)) for f in origin_findings] == [
        (target, ["criteria/origin-watch"])
    ]
    by_criterion = _segment(flagged, "criteria/origin-watch", target)
    assert by_criterion.selection.rate == pytest.approx(0.6, abs=0.1)
    assert not by_criterion.tested

    assert matched.declarations == _PER_MONTH
    assert not _segment(matched, "selection", target).flagged
    assert not any("criteria/origin-risk" in f.driving_criteria for f in matched.findings)
    assert officer.value.code() == grpc.StatusCode.INVALID_ARGUMENT
