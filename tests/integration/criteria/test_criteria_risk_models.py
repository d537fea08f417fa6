"""Risk model versions governed like criteria, with a real scoring that trained them."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from criteria_support import ANALYST, RMC, SUPERVISOR, Criteria, PeerServices
from customs.criteria.v1 import criteria_service_pb2 as pb
from customs.criteria.v1 import risk_model_pb2
from customs.scoring.v1 import scoring_service_pb2_grpc
from risk_model_support import import_history, labelled_slice, train
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from customs_kit.auth import Role
from customs_kit.testing.services import SigningKeys

State = risk_model_pb2.RiskModelState


async def _train_and_report(
    peers: PeerServices, criteria: Criteria, keys: SigningKeys, *, first: bool
) -> str:
    """Trains a version in scoring as ana and delivers scoring's event to criteria."""
    scoring = scoring_service_pb2_grpc.ScoringServiceStub(peers.scoring.channel)
    if first:
        await import_history(scoring, keys, labelled_slice())
    card = await train(scoring, keys, "ana")
    # The relay cannot reach criteria here: the test delivers what scoring put in its outbox.
    engine = create_async_engine(peers.scoring.settings.database_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    text(
                        "SELECT payload FROM outbox_events WHERE destination = 'criteria' "
                        "AND delivered_at IS NULL"
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    for (payload,) in rows:
        await criteria.call(
            "IngestRiskModelTrainedEvent",
            pb.IngestRiskModelTrainedEventRequest.FromString(payload),
            (Role.SERVICE, "scoring"),
        )
    return str(card.risk_model)


async def _submit(criteria: Criteria, name: str) -> Any:
    response = await criteria.call(
        "SubmitRiskModel",
        pb.SubmitRiskModelRequest(
            name=name, score_threshold=0.5, lookback_days=366, reason="Validated on Q4"
        ),
        ANALYST,
    )
    return response.risk_model


async def _approve(criteria: Criteria, name: str, caller: Any = SUPERVISOR) -> Any:
    response = await criteria.call(
        "ApproveRiskModel", pb.ApproveRiskModelRequest(name=name, reason="Impact accepted"), caller
    )
    return response.risk_model


async def _active_on_stream(criteria: Criteria) -> risk_model_pb2.ActiveRiskModel:
    call = criteria.stub.WatchActiveCriteria(
        pb.WatchActiveCriteriaRequest(since_revision=0),
        metadata=criteria.auth((Role.SERVICE, "scoring")),
    )
    found = risk_model_pb2.ActiveRiskModel()
    async for message in call:
        if message.WhichOneof("event") == "risk_model":
            found = message.risk_model
        if message.WhichOneof("event") == "snapshot_end":
            call.cancel()
            break
    return found


@pytest.mark.timeout(600)
async def test_a_version_is_drafted_analysed_approved_by_a_second_person_and_rolled_back(
    criteria: Criteria, peer_services: PeerServices, test_keys: SigningKeys
) -> None:
    first = await _train_and_report(peer_services, criteria, test_keys, first=True)
    drafted = await criteria.call("GetRiskModel", pb.GetRiskModelRequest(name=first), RMC)
    submitted = await _submit(criteria, first)

    with pytest.raises(grpc.aio.AioRpcError) as own:
        await _approve(criteria, first, ((Role.ANALYST, Role.RMC), "ana"))
    activated = await _approve(criteria, first)
    on_stream = await _active_on_stream(criteria)

    second = await _train_and_report(peer_services, criteria, test_keys, first=False)
    await _submit(criteria, second)
    await _approve(criteria, second, RMC)
    superseded = await criteria.call("GetRiskModel", pb.GetRiskModelRequest(name=first), RMC)
    rolled_back = await criteria.call(
        "RollbackRiskModel", pb.RollbackRiskModelRequest(reason="Drift on day one"), SUPERVISOR
    )
    after_rollback = await _active_on_stream(criteria)
    listed = await criteria.call("ListRiskModels", pb.ListRiskModelsRequest(), RMC)
    history = await criteria.history_size()

    risk_model = drafted.risk_model
    assert risk_model.state == State.RISK_MODEL_STATE_DRAFT
    assert (risk_model.trainer, len(risk_model.digest)) == ("ana", 64)
    assert risk_model.card.validation_rows > 0
    assert submitted.state == State.RISK_MODEL_STATE_PENDING_APPROVAL
    assert submitted.impact.declarations_replayed >= 0
    assert own.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "ana" in (own.value.details() or "")
    assert (activated.state, activated.approved_by) == (State.RISK_MODEL_STATE_ACTIVE, "sam")
    assert (on_stream.name, on_stream.digest) == (first, risk_model.digest)
    assert superseded.risk_model.state == State.RISK_MODEL_STATE_SUPERSEDED
    assert (rolled_back.retired.name, rolled_back.retired.state) == (
        second,
        State.RISK_MODEL_STATE_RETIRED,
    )
    assert (rolled_back.active.name, rolled_back.active.state) == (
        first,
        State.RISK_MODEL_STATE_ACTIVE,
    )
    assert after_rollback.name == first
    assert [m.name for m in listed.risk_models] == [second, first]
    assert history > 0


async def test_a_version_criteria_does_not_hold_is_not_found(criteria: Criteria) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await criteria.call("GetRiskModel", pb.GetRiskModelRequest(name="riskModels/v9"), RMC)

    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


async def test_rollback_without_an_active_version_is_refused(criteria: Criteria) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await criteria.call(
            "RollbackRiskModel", pb.RollbackRiskModelRequest(reason="no"), SUPERVISOR
        )

    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
