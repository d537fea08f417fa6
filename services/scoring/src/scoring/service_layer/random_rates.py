"""Random examination rates (set, read, list, remove) and the random step of every assessment.

The current rates are held in memory as one immutable
:class:`RandomExaminationRates`, replaced whole after each change (and
reloaded when another replica changed them), so an assessment reads them
without a query. Every change is journaled by revision, so that a decision
can be replayed with the rates it was taken under.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

import structlog
from sqlalchemy.exc import IntegrityError

from customs_kit.db import Database, is_unique_violation, utcnow
from customs_kit.errors import Aborted, NotFound
from customs_kit.pagination import PageTokens, clamp_page_size
from customs_kit.uow import UnitOfWork
from scoring.adapters.random_rates import REVISION_KEY, RandomRateJournal, rate_etag
from scoring.domain.assessment import Assessment
from scoring.domain.draws import SelectionSeed
from scoring.domain.evaluator import NO_RANDOM_STEP, Evaluation
from scoring.domain.random_examinations import (
    RandomExaminationRate,
    RandomExaminationRates,
    RandomStep,
    draw_random_examinations,
    narrate_channel_change,
    narrate_draws,
)
from scoring.service_layer.trader_profiles import TraderProfilesHolder

_log = structlog.get_logger(__name__)

_RATE = "randomExaminationRate"
_MAX_PAGE_SIZE = 1_000
#: Changes of different rates at the same moment race for the next revision.
_REVISION_ATTEMPTS = 5

#: A change made in a unit of work; returns the rate as recorded.
_Change = Callable[[UnitOfWork], Awaitable[RandomExaminationRate]]


class RandomRatesHolder:
    """The current random examination rates of this process."""

    def __init__(self) -> None:
        self.current = RandomExaminationRates()

    async def reload(self, database: Database) -> None:
        """Loads the rates from the journal if a change was recorded since the last load."""
        async with database.unit_of_work() as uow:
            journal = RandomRateJournal(uow.session)
            revision = await journal.latest_revision()
            if revision <= self.current.revision:
                return
            rates = await journal.rates_at(revision)
        # Another reload may have installed a later revision meanwhile.
        if rates.revision > self.current.revision:
            self.current = rates
            _log.info("random_examination_rates_loaded", revision=revision, rates=len(rates.rates))


@dataclass(frozen=True)
class RandomInputs:
    """What the random step of an assessment reads: the rates and the approved traders."""

    rates: RandomRatesHolder
    traders: TraderProfilesHolder


# --- replay ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RandomReplay:
    """A replay after its random step, and the draws with their values."""

    evaluation: Evaluation
    step: RandomStep


async def replay_random(
    database: Database, assessment: Assessment, replay: Evaluation, seed: SelectionSeed
) -> RandomReplay:
    """``replay`` (of the criteria) after the random draws the assessment recorded.

    Uses the rates at the recorded revision and the approved-trader status the
    decision recorded (``replay`` was evaluated with it). The narration's
    random-draw sentence is replaced by the draws.
    """
    async with database.unit_of_work() as uow:
        rates = await RandomRateJournal(uow.session).rates_at(
            assessment.replay.random_examination_rates_revision
        )
    step = draw_random_examinations(
        replay.decision,
        assessment.declaration,
        rates,
        seed,
        scheme=assessment.replay.random_draw_scheme,
    )
    steps: list[str] = []
    for sentence in replay.steps:
        steps.extend(narrate_draws(step) if sentence == NO_RANDOM_STEP else [sentence])
    change = narrate_channel_change(step, replay.decision)
    if change is not None:
        steps.append(change)
    return RandomReplay(replace(replay, decision=step.decision, steps=tuple(steps)), step)


# --- the rate RPCs --------------------------------------------------------------------


async def get_random_examination_rate(name: str, *, database: Database) -> RandomExaminationRate:
    """The current rate named ``name``; raises ``NotFound``."""
    async with database.unit_of_work() as uow:
        rates = await RandomRateJournal(uow.session).current()
    rate = rates.by_name(name)
    if rate is None:
        raise NotFound(_RATE, name)
    return rate


@dataclass(frozen=True)
class RandomRatePage:
    """A page of rates and the token of the next one (empty on the last page)."""

    rates: list[RandomExaminationRate]
    next_page_token: str


async def list_random_examination_rates(
    page_size: int,
    page_token: str,
    office_code: str,
    *,
    database: Database,
    page_tokens: PageTokens,
) -> RandomRatePage:
    """The current rates by office then procedure ("any" first), optionally of one office.

    Raises ``InvalidArgument`` on a malformed token or one issued for another office.
    """
    limit = clamp_page_size(page_size, default=50, maximum=_MAX_PAGE_SIZE)
    query = {"list": "randomExaminationRates", "office": office_code}
    position = page_tokens.decode(page_token, query=query)
    after = (position["office"], position["procedure"]) if position else None
    async with database.unit_of_work() as uow:
        rates = await RandomRateJournal(uow.session).current()
    keys = sorted(
        key
        for key in rates.rates
        if (not office_code or key[0] == office_code) and (after is None or key > after)
    )
    page = [rates.rates[key] for key in keys[:limit]]
    next_token = ""
    if len(keys) > limit:
        last = page[-1]
        next_token = page_tokens.encode(
            {"office": last.office_code, "procedure": last.procedure_code}, query=query
        )
    return RandomRatePage(page, next_token)


@dataclass(frozen=True)
class SetRandomExaminationRate:
    """Set ``rate`` for its office and procedure; ``etag``, when set, must be the current one."""

    rate: RandomExaminationRate
    etag: str
    reason: str
    actor: str


@dataclass(frozen=True)
class DeleteRandomExaminationRate:
    """Remove the rate named ``name``, whose current etag is ``etag``."""

    name: str
    etag: str
    reason: str
    actor: str


async def set_random_examination_rate(
    command: SetRandomExaminationRate, *, database: Database, holder: RandomRatesHolder
) -> RandomExaminationRate:
    """Records the rate at the next revision and applies it to decisions from now on.

    Setting the rates a configuration already has changes nothing (no new
    revision). Raises ``Aborted`` when ``etag`` is set and is not the current
    rate's.
    """
    rate = await _with_next_revision(database, holder, lambda uow: _set(uow, command))
    _log.info(
        "random_examination_rate_set",
        random_examination_rate=rate.name,
        revision=rate.revision,
        updated_by=rate.updated_by,
        document_review_percent=rate.document_review_percent,
        physical_examination_percent=rate.physical_examination_percent,
    )
    return rate


async def delete_random_examination_rate(
    command: DeleteRandomExaminationRate, *, database: Database, holder: RandomRatesHolder
) -> int:
    """Removes a rate at the next revision; returns that revision.

    Raises ``NotFound`` when there is no such rate, ``Aborted`` when the etag
    is not the current one.
    """
    removed = await _with_next_revision(database, holder, lambda uow: _delete(uow, command))
    _log.info(
        "random_examination_rate_deleted",
        random_examination_rate=command.name,
        revision=removed.revision,
        updated_by=command.actor,
    )
    return removed.revision


async def _with_next_revision(
    database: Database,
    holder: RandomRatesHolder,
    change: _Change,
) -> RandomExaminationRate:
    for _ in range(_REVISION_ATTEMPTS):
        try:
            async with database.unit_of_work() as uow:
                changed = await change(uow)
                await uow.commit()
        except IntegrityError as error:
            if is_unique_violation(error, REVISION_KEY):
                continue
            raise
        await holder.reload(database)
        return changed
    raise Aborted("REVISION_CONFLICT", "random examination rates changed concurrently; try again")


def _check_etag(existing: RandomExaminationRate | None, etag: str, name: str) -> None:
    if existing is None or etag != rate_etag(existing):
        revision = f" (revision {existing.revision})" if existing is not None else ""
        raise Aborted("ETAG_MISMATCH", f"{name} changed since it was read{revision}")


async def _set(uow: UnitOfWork, command: SetRandomExaminationRate) -> RandomExaminationRate:
    journal = RandomRateJournal(uow.session)
    current = await journal.current()
    existing = current.rates.get(command.rate.key)
    if command.etag:
        _check_etag(existing, command.etag, command.rate.name)
    if existing is not None and existing.same_rates(command.rate):
        return existing
    changed = replace(
        command.rate,
        revision=current.revision + 1,
        update_time=utcnow(),
        updated_by=command.actor,
        reason=command.reason,
    )
    await journal.append(changed)
    return changed


async def _delete(uow: UnitOfWork, command: DeleteRandomExaminationRate) -> RandomExaminationRate:
    journal = RandomRateJournal(uow.session)
    current = await journal.current()
    existing = current.by_name(command.name)
    if existing is None:
        raise NotFound(_RATE, command.name)
    _check_etag(existing, command.etag, command.name)
    removal = replace(
        existing,
        revision=current.revision + 1,
        update_time=utcnow(),
        updated_by=command.actor,
        reason=command.reason,
    )
    await journal.append(removal, removed=True)
    return removal
