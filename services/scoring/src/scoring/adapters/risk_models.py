"""The SQL of training operations, model versions and the labelled rows trained on."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Integer, cast, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from customs_kit.db import utcnow
from scoring.adapters.codec import declaration_from_content
from scoring.adapters.orm import (
    AssessmentRow,
    DeclarationOutcomeRow,
    HistoryDeclarationRow,
    RiskModelTrainingRow,
    RiskModelVersionRow,
)
from scoring.domain.declaration import Declaration
from scoring.domain.risk_model import LabelledDeclaration, ModelCard
from scoring.domain.training import ModelVersion, Training, TrainingState


class TrainingRepository:
    """Training operations."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, training: Training) -> None:
        """Stores a new operation."""
        self._session.add(
            RiskModelTrainingRow(
                id=training.training_id,
                state=training.state.value,
                progress_percent=training.progress_percent,
                stage=training.stage,
                risk_model=None,
                error_reason="",
                error_message="",
                trainer=training.trainer,
                validation_months=training.validation_months,
                create_time=training.create_time,
                end_time=None,
            )
        )
        await self._session.flush()

    async def get(self, training_id: str) -> Training | None:
        """The operation, if it exists."""
        row = await self._session.get(RiskModelTrainingRow, training_id)
        return None if row is None else _training(row)

    async def running(self) -> Training | None:
        """A RUNNING operation, if any."""
        row = await self._session.scalar(
            select(RiskModelTrainingRow)
            .where(RiskModelTrainingRow.state == TrainingState.RUNNING.value)
            .limit(1)
        )
        return None if row is None else _training(row)

    async def progress(self, training_id: str, stage: str, percent: float) -> None:
        """Records how far a RUNNING operation is."""
        await self._session.execute(
            update(RiskModelTrainingRow)
            .where(
                RiskModelTrainingRow.id == training_id,
                RiskModelTrainingRow.state == TrainingState.RUNNING.value,
            )
            .values(stage=stage, progress_percent=percent)
        )

    async def succeed(self, training_id: str, risk_model: str) -> None:
        """Marks an operation SUCCEEDED with the version it stored."""
        await self._session.execute(
            update(RiskModelTrainingRow)
            .where(RiskModelTrainingRow.id == training_id)
            .values(
                state=TrainingState.SUCCEEDED.value,
                progress_percent=100.0,
                stage="done",
                risk_model=risk_model,
                end_time=utcnow(),
            )
        )

    async def fail_running(self, reason: str, message: str, training_id: str | None = None) -> int:
        """Marks RUNNING operations (all, or the one named) FAILED; returns how many."""
        query = update(RiskModelTrainingRow).where(
            RiskModelTrainingRow.state == TrainingState.RUNNING.value
        )
        if training_id is not None:
            query = query.where(RiskModelTrainingRow.id == training_id)
        result = await self._session.execute(
            query.values(
                state=TrainingState.FAILED.value,
                error_reason=reason,
                error_message=message[:2000],
                end_time=utcnow(),
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)


def _training(row: RiskModelTrainingRow) -> Training:
    return Training(
        training_id=row.id,
        state=TrainingState(row.state),
        progress_percent=row.progress_percent,
        stage=row.stage,
        trainer=row.trainer,
        validation_months=row.validation_months,
        create_time=row.create_time,
        risk_model=row.risk_model or "",
        error_reason=row.error_reason,
        error_message=row.error_message,
        end_time=row.end_time,
    )


@dataclass(frozen=True)
class StoredArtifact:
    """A version's artifact and the digest it was stored with."""

    digest: str
    artifact: bytes


class RiskModelRepository:
    """Model versions: artifact and card, never deleted."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def next_sequence(self) -> int:
        """The sequence number of the next version."""
        latest = await self._session.scalar(select(func.max(RiskModelVersionRow.sequence)))
        return int(latest or 0) + 1

    async def add(self, version: ModelVersion, sequence: int, artifact: bytes) -> None:
        """Stores a new version."""
        self._session.add(
            RiskModelVersionRow(
                name=version.name,
                sequence=sequence,
                digest=version.digest,
                artifact=artifact,
                card=json.dumps(version.card.to_json(), sort_keys=True).encode(),
                trainer=version.trainer,
                training_id=version.training_id,
                create_time=version.create_time,
            )
        )
        await self._session.flush()

    async def get(self, name: str) -> ModelVersion | None:
        """The version's card and identity (not its artifact), if it exists."""
        row = (
            await self._session.execute(
                select(
                    RiskModelVersionRow.name,
                    RiskModelVersionRow.digest,
                    RiskModelVersionRow.card,
                    RiskModelVersionRow.trainer,
                    RiskModelVersionRow.training_id,
                    func.length(RiskModelVersionRow.artifact),
                    RiskModelVersionRow.create_time,
                ).where(RiskModelVersionRow.name == name)
            )
        ).one_or_none()
        if row is None:
            return None
        name, digest, card, trainer, training_id, size, create_time = row
        return ModelVersion(
            name=name,
            digest=digest,
            card=ModelCard.from_json(json.loads(card)),
            trainer=trainer,
            training_id=training_id,
            artifact_bytes=int(size),
            create_time=create_time,
        )

    async def artifact(self, name: str) -> StoredArtifact | None:
        """The version's artifact, if it exists."""
        row = (
            await self._session.execute(
                select(RiskModelVersionRow.digest, RiskModelVersionRow.artifact).where(
                    RiskModelVersionRow.name == name
                )
            )
        ).one_or_none()
        return None if row is None else StoredArtifact(row[0], row[1])


def _revenue(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


class LabelledRows:
    """What training reads: imported history and assessed declarations with their outcomes."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def any_outcome(self) -> bool:
        """Whether at least one declaration has an examination outcome."""
        history = await self._session.scalar(
            select(exists().where(HistoryDeclarationRow.examined.is_(True)))
        )
        outcomes = await self._session.scalar(
            select(exists().where(DeclarationOutcomeRow.assessment_id.is_not(None)))
        )
        return bool(history) or bool(outcomes)

    async def all(self) -> list[LabelledDeclaration]:
        """Every held declaration, examined or not (unexamined rows feed the frequency features).

        An assessed declaration examined and audited carries every source's
        findings together: an infringement if any found one, the highest
        severity, the revenue found added up.
        """
        rows: list[LabelledDeclaration] = []
        history = await self._session.execute(
            select(
                HistoryDeclarationRow.declaration,
                HistoryDeclarationRow.examined,
                HistoryDeclarationRow.infringement_found,
                HistoryDeclarationRow.severity,
                HistoryDeclarationRow.revenue_found,
                HistoryDeclarationRow.randomly_selected,
            )
        )
        for content, examined, found, severity, revenue, randomly in history:
            rows.append(
                LabelledDeclaration(
                    declaration=declaration_from_content(content),
                    examined=examined,
                    infringement=found,
                    severity=severity,
                    revenue=_revenue(revenue),
                    randomly_selected=bool(randomly),
                )
            )
        outcomes = (
            select(
                DeclarationOutcomeRow.assessment_id,
                func.max(cast(DeclarationOutcomeRow.infringement_found, Integer)).label("found"),
                func.max(DeclarationOutcomeRow.severity).label("severity"),
                func.sum(DeclarationOutcomeRow.revenue_found).label("revenue"),
                func.max(cast(DeclarationOutcomeRow.randomly_selected, Integer)).label("randomly"),
            )
            .group_by(DeclarationOutcomeRow.assessment_id)
            .subquery()
        )
        assessed = await self._session.execute(
            select(
                AssessmentRow.declaration,
                outcomes.c.assessment_id,
                outcomes.c.found,
                outcomes.c.severity,
                outcomes.c.revenue,
                outcomes.c.randomly,
            ).outerjoin(outcomes, outcomes.c.assessment_id == AssessmentRow.id)
        )
        for content, outcome_of, found, severity, revenue, randomly in assessed:
            rows.append(
                LabelledDeclaration(
                    declaration=declaration_from_content(content),
                    examined=outcome_of is not None,
                    infringement=bool(found),
                    severity=int(severity or 0),
                    revenue=_revenue(revenue),
                    randomly_selected=bool(randomly),
                )
            )
        return rows


@dataclass(frozen=True)
class StoredDecision:
    """A stored assessment as the model replay reads it."""

    declaration: Declaration
    channel: str


async def decisions_lodged(
    session: AsyncSession, lodged_from: datetime, lodged_before: datetime
) -> list[StoredDecision]:
    """The latest version of every declaration lodged in the window, with its stored channel."""
    rows = await session.execute(
        select(AssessmentRow.declaration_number, AssessmentRow.declaration, AssessmentRow.channel)
        .where(
            AssessmentRow.lodgement_time >= lodged_from,
            AssessmentRow.lodgement_time < lodged_before,
        )
        .order_by(AssessmentRow.declaration_number, AssessmentRow.version.desc())
    )
    decisions: list[StoredDecision] = []
    previous: str | None = None
    for number, content, channel in rows:
        if number != previous:
            decisions.append(StoredDecision(declaration_from_content(content), channel))
        previous = number
    return decisions


@dataclass(frozen=True)
class ScoredOutcome:
    """The score a version gave a declaration, and the outcome of its random examination."""

    score: float
    randomly_examined: bool
    infringement: bool


async def scored_with(
    session: AsyncSession, risk_model: str, lodged_from: datetime, lodged_before: datetime
) -> list[ScoredOutcome]:
    """Every declaration the version scored in the window, with its random-arm outcome."""
    outcomes = (
        select(
            DeclarationOutcomeRow.assessment_id,
            func.max(cast(DeclarationOutcomeRow.infringement_found, Integer)).label("found"),
        )
        .where(DeclarationOutcomeRow.randomly_selected.is_(True))
        .group_by(DeclarationOutcomeRow.assessment_id)
        .subquery()
    )
    rows = await session.execute(
        select(AssessmentRow.risk_model_score, outcomes.c.assessment_id, outcomes.c.found)
        .outerjoin(outcomes, outcomes.c.assessment_id == AssessmentRow.id)
        .where(
            AssessmentRow.risk_model == risk_model,
            AssessmentRow.lodgement_time >= lodged_from,
            AssessmentRow.lodgement_time < lodged_before,
        )
    )
    return [
        ScoredOutcome(float(score), examined is not None, bool(found))
        for score, examined, found in rows
        if score is not None
    ]
