"""The trainer process: trains one model version from what scoring's database holds.

Started by the scoring server (a spawned child process per training, so the
CPU-heavy fit never runs in the request path and never holds the server's
interpreter); also runnable by hand, ``python -m scoring.entrypoints.trainer
DATABASE_URL TRAINING_ID``. It reads the labelled rows itself, reports
progress on the operation's row, and stores the version, its card and the
``RiskModelTrained`` event in one transaction, or marks the operation FAILED
with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading

import structlog

from customs_kit.db import Database, utcnow
from customs_kit.errors import DomainError
from customs_kit.logging import configure_logging
from scoring.adapters.risk_model_events import risk_model_trained_event
from scoring.adapters.risk_models import LabelledRows, RiskModelRepository, TrainingRepository
from scoring.domain.risk_model import load_risk_model, train_risk_model
from scoring.domain.training import ModelVersion, version_name

_log = structlog.get_logger(__name__)

#: Seconds between two progress writes.
_PROGRESS_SECONDS = 0.5


class _Progress:
    """The latest (stage, fraction) the training reported, read by the writer task."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.latest = ("reading outcomes", 0.0)

    def __call__(self, stage: str, fraction: float) -> None:
        with self._lock:
            self.latest = (stage, fraction)


async def train(database: Database, training_id: str) -> None:
    """Runs the training ``training_id`` to SUCCEEDED or FAILED."""
    # Read-only: reading every labelled row takes seconds, and on SQLite a
    # writing unit of work would hold the write lock from assessments meanwhile.
    async with database.unit_of_work(read_only=True) as uow:
        training = await TrainingRepository(uow.session).get(training_id)
        if training is None:
            raise LookupError(f"riskModelTrainings/{training_id} does not exist")
        rows = await LabelledRows(uow.session).all()
    progress = _Progress()
    done = asyncio.Event()

    async def report() -> None:
        while not done.is_set():
            stage, fraction = progress.latest
            async with database.unit_of_work() as uow:
                # Reading the rows is the first 10 %, the core's fraction the rest.
                percent = round(10.0 + 90.0 * fraction, 1)
                await TrainingRepository(uow.session).progress(training_id, stage, percent)
                await uow.commit()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), _PROGRESS_SECONDS)

    reporter = asyncio.create_task(report())
    try:
        trained = await asyncio.to_thread(
            train_risk_model, rows, validation_months=training.validation_months, progress=progress
        )
    except DomainError as error:
        await _fail(database, training_id, error.reason, error.message)
        return
    except ValueError as error:
        await _fail(database, training_id, "TRAINING_FAILED", str(error))
        return
    finally:
        done.set()
        await reporter
    # The digest is the loaded predictor's, the one scoring verifies when it loads the version.
    digest = load_risk_model(trained.artifact).version_digest
    async with database.unit_of_work() as uow:
        models = RiskModelRepository(uow.session)
        sequence = await models.next_sequence()
        version = ModelVersion(
            name=version_name(sequence),
            digest=digest,
            card=trained.card,
            trainer=training.trainer,
            training_id=training_id,
            artifact_bytes=len(trained.artifact),
            create_time=utcnow(),
        )
        await models.add(version, sequence, trained.artifact)
        await TrainingRepository(uow.session).succeed(training_id, version.name)
        event = risk_model_trained_event(version)
        uow.outbox.add(event.destination, event.method, event.payload, event.event_id)
        await uow.commit()
    _log.info(
        "risk_model_trained",
        training=training.name,
        risk_model=version.name,
        digest=digest,
        rows=len(rows),
        precision_at_5=trained.card.metrics.get("precision_at_5"),
    )


async def _fail(database: Database, training_id: str, reason: str, message: str) -> None:
    async with database.unit_of_work() as uow:
        await TrainingRepository(uow.session).fail_running(reason, message, training_id)
        await uow.commit()
    _log.warning("risk_model_training_failed", training=training_id, reason=reason, error=message)


async def _main(database_url: str, training_id: str) -> None:
    database = Database(database_url)
    try:
        await train(database, training_id)
    finally:
        await database.dispose()


def run_training(database_url: str, training_id: str, log_level: str = "INFO") -> None:
    """The entry point of the trainer process (the target of the spawned child)."""
    configure_logging(log_level, "scoring-trainer")
    asyncio.run(_main(database_url, training_id))


if __name__ == "__main__":
    run_training(sys.argv[1], sys.argv[2])
