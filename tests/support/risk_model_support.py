"""Support for the risk model tests: a labelled archive, its import, a training to its end."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from customs.scoring.v1 import (
    declaration_pb2,
    risk_model_pb2,
    scoring_service_pb2,
    scoring_service_pb2_grpc,
)

from customs_kit.auth import Role
from customs_kit.testing.services import SigningKeys

Stub = scoring_service_pb2_grpc.ScoringServiceStub
Request = scoring_service_pb2.ImportHistoryRequest
_LODGED = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def outcome(*, found: bool = False, critical: bool = False) -> risk_model_pb2.HistoryOutcome:
    """An examined declaration's outcome, as the public data set gives it."""
    return risk_model_pb2.HistoryOutcome(
        examined=True, infringement_found=found, severity=(2 if critical else 1) if found else 0
    )


def past_declaration(
    number: str, lodged: datetime, *, hs_code: str = "440890", origin: str = "BE", seller: str
) -> declaration_pb2.Declaration:
    """A past declaration of one item."""
    message = declaration_pb2.Declaration(
        declaration_number=number,
        version=1,
        office_code="30",
        procedure_code="B",
        import_type_code="11",
        importer={"id": "QLRUBN9", "name": "Hanbit Trading Co."},
        declarant={"id": "ZZR1LT6"},
        seller={"id": seller, "country_code": origin},
        transport_mode_code="10",
        dispatch_country_code=origin,
        items=[
            declaration_pb2.DeclarationItem(
                item_number=1,
                hs_code=hs_code,
                origin_country_code=origin,
                net_mass_kg=108.0,
                customs_value={"currency_code": "KRW", "units": 372254},
                tax_rate_percent=8.0,
            )
        ],
    )
    message.lodgement_time.FromDatetime(lodged)
    return message


def labelled_slice(count: int = 240) -> list[Request]:
    """Four months of examined declarations: phones from one seller are mostly infringements."""
    requests = []
    for number in range(count):
        risky = number % 5 == 0
        requests.append(
            Request(
                declaration=past_declaration(
                    f"30/2025/T{number:05d}",
                    _LODGED - timedelta(days=120) + timedelta(hours=12 * number),
                    hs_code="851713" if risky else "440890",
                    origin="CN" if risky else "BE",
                    seller="RISKY01" if risky else f"SELLER{number % 7}",
                ),
                outcome=outcome(found=(risky and number % 10 != 5) or number % 37 == 0),
            )
        )
    return requests


async def _stream(requests: Sequence[Request]) -> AsyncIterator[Request]:
    for request in requests:
        yield request


async def import_history(
    stub: Stub, keys: SigningKeys, requests: Sequence[Request], role: Role = Role.DECLARATION_SYSTEM
) -> scoring_service_pb2.ImportHistoryResponse:
    """Streams ``requests`` through ImportHistory."""
    response: scoring_service_pb2.ImportHistoryResponse = await stub.ImportHistory(
        _stream(requests), metadata=keys.metadata(role)
    )
    return response


async def wait_for(stub: Stub, keys: SigningKeys, name: str) -> risk_model_pb2.RiskModelTraining:
    """Polls the operation until it is no longer RUNNING (four minutes at most)."""
    deadline = asyncio.get_running_loop().time() + 240
    while True:
        response = await stub.GetRiskModelTraining(
            scoring_service_pb2.GetRiskModelTrainingRequest(name=name),
            metadata=keys.metadata(Role.ANALYST),
        )
        training = response.training
        if training.state != risk_model_pb2.RISK_MODEL_TRAINING_STATE_RUNNING:
            return training
        assert asyncio.get_running_loop().time() < deadline, f"{name} still running"
        await asyncio.sleep(0.5)


async def train(stub: Stub, keys: SigningKeys, trainer: str = "ana") -> Any:
    """Trains a version as ``trainer`` (analyst); the card of the SUCCEEDED operation."""
    started = await stub.TrainRiskModel(
        scoring_service_pb2.TrainRiskModelRequest(validation_months=1),
        metadata=keys.metadata(Role.ANALYST, subject=trainer),
    )
    done = await wait_for(stub, keys, started.training.name)
    assert done.risk_model, done.error_message
    return done.card
