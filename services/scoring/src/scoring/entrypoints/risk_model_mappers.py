"""Protobuf <-> domain for the risk model RPCs: history import, training, scores, outcomes."""

from __future__ import annotations

from customs.common.v1 import money_pb2
from customs.scoring.v1 import risk_model_pb2, scoring_service_pb2

from customs_kit.errors import FieldViolation, InvalidArgument
from customs_kit.interceptors import violations_of
from scoring.adapters.codec import declaration_content, declaration_from_proto
from scoring.domain.history import HistoryRecord, ImportCounts, Outcome


def _amount(money: money_pb2.Money) -> float:
    return money.units + money.nanos / 1e9


def history_outcome(message: risk_model_pb2.HistoryOutcome) -> Outcome:
    """The domain outcome of a (validated) HistoryOutcome message."""
    return Outcome(
        examined=message.examined,
        infringement_found=message.infringement_found,
        severity=message.severity,
        revenue_found=_amount(message.revenue_found) if message.HasField("revenue_found") else None,
        randomly_selected=(
            message.randomly_selected if message.HasField("randomly_selected") else None
        ),
    )


def history_record(
    request: scoring_service_pb2.ImportHistoryRequest, position: int
) -> HistoryRecord:
    """The record of one ImportHistory message; raises ``InvalidArgument`` naming its position."""
    violations = violations_of(request)
    if violations:
        raise InvalidArgument(
            [
                FieldViolation(f"requests[{position}].{violation.field}", violation.description)
                for violation in violations
            ],
            message=f"message {position} of the stream is invalid; nothing of its batch was written",
        )
    return HistoryRecord(
        declaration=declaration_from_proto(request.declaration),
        content=declaration_content(request.declaration),
        outcome=history_outcome(request.outcome),
    )


def import_response(counts: ImportCounts) -> scoring_service_pb2.ImportHistoryResponse:
    """The response of ImportHistory."""
    return scoring_service_pb2.ImportHistoryResponse(
        received=counts.received,
        imported=counts.imported,
        already_imported=counts.already_imported,
    )
