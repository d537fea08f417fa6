"""Starting and following training operations; the trainer runs in a child process."""

from __future__ import annotations

import asyncio
import multiprocessing
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.process import BaseProcess

import structlog
from customs.scoring.v1 import risk_model_pb2, scoring_service_pb2

from customs_kit.db import Database, utcnow
from customs_kit.errors import NotFound
from customs_kit.idempotency import run_idempotent
from customs_kit.uow import UnitOfWork
from scoring.adapters.risk_models import LabelledRows, RiskModelRepository, TrainingRepository
from scoring.domain.training import (
    ModelVersion,
    NoOutcomes,
    Training,
    TrainingRunning,
    TrainingState,
)

_log = structlog.get_logger(__name__)

_TRAIN_METHOD = "/customs.scoring.v1.ScoringService/TrainRiskModel"
_DEFAULT_VALIDATION_MONTHS = 3


class TrainerProcesses:
    """Runs each training in its own spawned process and watches it end.

    Spawned, not forked: the child starts a clean interpreter (no copy of the
    server's event loop, sockets or threads). A child that dies without
    finishing its operation (killed, out of memory) leaves it RUNNING; the
    watcher marks it FAILED with reason ``TRAINER_DIED``. Children are
    terminated when the server stops; the next start marks what they were
    running FAILED (``TRAINING_INTERRUPTED``).
    """

    def __init__(
        self, database: Database, database_url: str, target: Callable[[str, str], None]
    ) -> None:
        self._database = database
        self._database_url = database_url
        self._target = target
        self._context = multiprocessing.get_context("spawn")
        self._running: dict[str, tuple[BaseProcess, asyncio.Task[None]]] = {}

    def start(self, training_id: str) -> None:
        """Starts the trainer of ``training_id``."""
        process = self._context.Process(
            target=self._target,
            args=(self._database_url, training_id),
            name=f"trainer-{training_id}",
            daemon=True,
        )
        process.start()
        watcher = asyncio.create_task(self._watch(training_id, process))
        self._running[training_id] = (process, watcher)
        _log.info("risk_model_training_started", training=training_id, pid=process.pid)

    async def _watch(self, training_id: str, process: BaseProcess) -> None:
        await asyncio.to_thread(process.join)
        self._running.pop(training_id, None)
        if process.exitcode == 0:
            return
        async with self._database.unit_of_work() as uow:
            failed = await TrainingRepository(uow.session).fail_running(
                "TRAINER_DIED",
                f"the trainer process ended with exit code {process.exitcode}",
                training_id,
            )
            await uow.commit()
        if failed:
            _log.error("risk_model_trainer_died", training=training_id, exitcode=process.exitcode)

    async def close(self) -> None:
        """Terminates running trainers (their operations are failed at the next start)."""
        for process, watcher in list(self._running.values()):
            process.terminate()
            watcher.cancel()
        for process, _ in list(self._running.values()):
            await asyncio.to_thread(process.join, 10)
        self._running.clear()


async def fail_interrupted_trainings(database: Database) -> None:
    """Marks every RUNNING operation FAILED: its trainer died with the previous process.

    One replica runs the trainings it starts; with several replicas on one
    database, a replica restarting while another trains fails that training
    too (visible, and it can be started again).
    """
    async with database.unit_of_work() as uow:
        failed = await TrainingRepository(uow.session).fail_running(
            "TRAINING_INTERRUPTED",
            "the scoring process that ran the training stopped before it finished; "
            "start the training again",
        )
        await uow.commit()
    if failed:
        _log.warning("risk_model_trainings_interrupted", trainings=failed)


@dataclass(frozen=True)
class StartTraining:
    """Start training a new version, as ``trainer``."""

    request: scoring_service_pb2.TrainRiskModelRequest
    trainer: str


async def start_training(
    command: StartTraining, *, database: Database, trainers: TrainerProcesses
) -> Training:
    """Records a RUNNING operation and starts its trainer; a retried request_id starts nothing.

    Raises :class:`NoOutcomes` when nothing is labelled, :class:`TrainingRunning`
    while another training runs.
    """
    created: list[Training] = []

    async def work(uow: UnitOfWork) -> scoring_service_pb2.TrainRiskModelResponse:
        repository = TrainingRepository(uow.session)
        running = await repository.running()
        if running is not None:
            raise TrainingRunning(running)
        if not await LabelledRows(uow.session).any_outcome():
            raise NoOutcomes()
        training = Training(
            training_id=str(uuid.uuid4()),
            state=TrainingState.RUNNING,
            progress_percent=0.0,
            stage="starting",
            trainer=command.trainer,
            validation_months=command.request.validation_months or _DEFAULT_VALIDATION_MONTHS,
            create_time=utcnow(),
        )
        await repository.add(training)
        created.append(training)
        # A retry is answered from the stored name with the operation as it is then.
        return scoring_service_pb2.TrainRiskModelResponse(
            training=risk_model_pb2.RiskModelTraining(name=training.name)
        )

    response = await run_idempotent(
        database, _TRAIN_METHOD, command.request, work, scoring_service_pb2.TrainRiskModelResponse
    )
    if created:
        trainers.start(created[0].training_id)
        return created[0]
    return await get_training(response.training.name.split("/", 1)[1], database=database)


async def get_training(training_id: str, *, database: Database) -> Training:
    """The operation; raises ``NotFound``.

    Read-only, so that on SQLite a poll never waits behind the trainer's writes.
    """
    async with database.unit_of_work(read_only=True) as uow:
        training = await TrainingRepository(uow.session).get(training_id)
    if training is None:
        raise NotFound("risk model training", f"riskModelTrainings/{training_id}")
    return training


async def get_model_version(name: str, *, database: Database) -> ModelVersion:
    """A stored version's card; raises ``NotFound``."""
    async with database.unit_of_work(read_only=True) as uow:
        version = await RiskModelRepository(uow.session).get(name)
    if version is None:
        raise NotFound("risk model", name)
    return version
