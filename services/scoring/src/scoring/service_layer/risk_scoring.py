"""The risk model version this process scores with, loaded aside and swapped in.

Criteria's watch stream names the active version (name and digest); the
artifact comes from scoring's own database, where the trainer stored it. It
is loaded and its digest verified in a worker thread while assessments go on
with the previous version, then swapped in with one assignment. An
assessment takes the current version once, so it never mixes two.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import structlog
from customs.criteria.v1 import risk_model_pb2

from customs_kit.db import Database
from scoring.adapters.repositories import RISK_MODEL, JournalRecord, RulesJournal
from scoring.adapters.risk_models import RiskModelRepository
from scoring.domain.declaration import Declaration
from scoring.domain.risk_model import RiskModel, load_risk_model
from scoring.domain.training import REASONS_RECORDED, RiskScore

_log = structlog.get_logger(__name__)

#: The journal key of the active version (there is one at a time).
_ACTIVE = "active"
#: Versions kept loaded for explanations of older decisions.
_LOADED_VERSIONS = 4


@dataclass(frozen=True)
class ServingModel:
    """A loaded version: its name, digest and predictor."""

    name: str
    digest: str
    model: RiskModel
    #: The criteria stream revision that activated it.
    revision: int = 0

    def score(self, declaration: Declaration, *, with_reasons: bool) -> RiskScore:
        """The score of ``declaration``, with its reasons when asked."""
        reasons = tuple(self.model.explain(declaration, REASONS_RECORDED)) if with_reasons else ()
        return RiskScore(self.name, self.digest, self.model.score(declaration), reasons)


class ArtifactUnavailable(Exception):
    """The version's artifact is not held, or does not have the expected digest."""


async def load_version(database: Database, name: str, digest: str) -> RiskModel:
    """Loads a stored version and checks its digest; raises :class:`ArtifactUnavailable`."""
    async with database.unit_of_work(read_only=True) as uow:
        stored = await RiskModelRepository(uow.session).artifact(name)
    if stored is None:
        raise ArtifactUnavailable(f"{name} is not stored in this scoring database")
    model = await asyncio.to_thread(load_risk_model, stored.artifact)
    if model.version_digest != digest:
        raise ArtifactUnavailable(
            f"{name}'s artifact has digest {model.version_digest}, expected {digest}"
        )
    return model


class RiskModelHolder:
    """The current version (or none), and recently used versions for replays."""

    def __init__(self) -> None:
        self.current: ServingModel | None = None
        self._loaded: dict[tuple[str, str], RiskModel] = {}

    async def activate(self, database: Database, name: str, digest: str, revision: int) -> None:
        """Loads ``name`` aside and swaps it in; an empty name stops scoring.

        A version whose artifact is missing or altered is refused: the
        previous version keeps scoring, and the error is logged.
        """
        if not name:
            self.current = None
            _log.info("risk_model_deactivated", revision=revision)
            return
        try:
            model = await self.version(database, name, digest)
        except ArtifactUnavailable as error:
            _log.error("risk_model_not_loaded", risk_model=name, error=str(error))
            return
        self.current = ServingModel(name, digest, model, revision)
        _log.info("risk_model_activated", risk_model=name, digest=digest, revision=revision)

    async def version(self, database: Database, name: str, digest: str) -> RiskModel:
        """A version's predictor, loaded once (old decisions are explained with their own)."""
        key = (name, digest)
        model = self._loaded.get(key)
        if model is None:
            model = await load_version(database, name, digest)
            if len(self._loaded) >= _LOADED_VERSIONS:
                self._loaded.pop(next(iter(self._loaded)))
            self._loaded[key] = model
        return model


async def apply_active_model(
    database: Database,
    holder: RiskModelHolder,
    revision: int,
    message: risk_model_pb2.ActiveRiskModel,
) -> None:
    """Journals the active version named by the criteria stream and activates it."""
    async with database.unit_of_work() as uow:
        await RulesJournal(uow.session, database.dialect).record(
            [
                JournalRecord(
                    RISK_MODEL, _ACTIVE, revision, message.SerializeToString(deterministic=True)
                )
            ]
        )
        await uow.commit()
    current = holder.current
    if current is not None and (current.name, current.digest) == (message.name, message.digest):
        return
    await holder.activate(database, message.name, message.digest, revision)


async def load_journaled_model(database: Database, holder: RiskModelHolder) -> None:
    """Activates the version last journaled, so a restarted process scores at once."""
    async with database.unit_of_work(read_only=True) as uow:
        record = await RulesJournal(uow.session, database.dialect).latest(RISK_MODEL, _ACTIVE)
    if record is not None and record.payload:
        message = risk_model_pb2.ActiveRiskModel.FromString(record.payload)
        await holder.activate(database, message.name, message.digest, record.revision)
