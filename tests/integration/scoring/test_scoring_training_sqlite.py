"""On SQLite, reads of the risk model never wait behind a writer holding the database."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from customs.scoring.v1 import risk_model_pb2, scoring_service_pb2, scoring_service_pb2_grpc
from risk_model_support import import_history, labelled_slice, wait_for
from sqlalchemy import make_url

from customs_kit.auth import Role
from customs_kit.testing.services import SigningKeys

Stub = scoring_service_pb2_grpc.ScoringServiceStub

#: Far below SQLite's 5 s lock wait: a read that queued for the write lock would miss it.
_DEADLINE_SECONDS = 2.0


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """The write lock is SQLite's: a SQLite file, whatever database the suite runs on."""
    return sqlite_url


@pytest.fixture
def write_lock(sqlite_url: str) -> Iterator[None]:
    """Holds SQLite's write lock from another connection, as the trainer's writes do."""
    connection = sqlite3.connect(make_url(sqlite_url).database or "", isolation_level=None)
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        connection.execute("ROLLBACK")
        connection.close()


@pytest.mark.timeout(600)
async def test_the_operation_and_card_are_read_while_another_connection_writes(
    stub: Stub, test_keys: SigningKeys, request: pytest.FixtureRequest
) -> None:
    await import_history(stub, test_keys, labelled_slice())
    started = await stub.TrainRiskModel(
        scoring_service_pb2.TrainRiskModelRequest(validation_months=1),
        metadata=test_keys.metadata(Role.ANALYST),
    )
    done = await wait_for(stub, test_keys, started.training.name)
    assert done.state == risk_model_pb2.RISK_MODEL_TRAINING_STATE_SUCCEEDED, done.error_message

    request.getfixturevalue("write_lock")
    polled = await stub.GetRiskModelTraining(
        scoring_service_pb2.GetRiskModelTrainingRequest(name=started.training.name),
        metadata=test_keys.metadata(Role.ANALYST),
        timeout=_DEADLINE_SECONDS,
    )
    card = await stub.GetRiskModelCard(
        scoring_service_pb2.GetRiskModelCardRequest(risk_model=done.risk_model),
        metadata=test_keys.metadata(Role.SUPERVISOR),
        timeout=_DEADLINE_SECONDS,
    )

    assert polled.training.state == risk_model_pb2.RISK_MODEL_TRAINING_STATE_SUCCEEDED
    assert card.card.digest == done.card.digest
