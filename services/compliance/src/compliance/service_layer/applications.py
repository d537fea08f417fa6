"""Use cases of the approved-trader program.

Every change runs inside the caller's idempotent unit of work. A change that
moves the trader in or out of the program (signing, revocation) saves the
trader in the same transaction and publishes its new profile on the change
feed, so scoring sees the approval exactly when it is committed.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import structlog

from compliance.adapters.repositories import (
    ApplicationFilter,
    ApplicationRepository,
    RecordRepository,
    TraderRepository,
)
from compliance.domain.applications import (
    AgreementTerms,
    ApplicationRequest,
    ApplicationState,
    ReevaluationOutcome,
    Review,
    ReviewChecks,
    TraderApplication,
    application_already_open,
    application_name,
    importer_compliance,
    submit_application,
)
from compliance.domain.traders import Trader, trader_name
from compliance.service_layer.paging import Page, page_of, page_request, stale_token
from compliance.service_layer.traders import TRADER, change_trader
from customs_kit.db import Database
from customs_kit.errors import NotFound
from customs_kit.pagination import PageTokens
from customs_kit.uow import UnitOfWork

_log = structlog.get_logger(__name__)

APPLICATION = "trader application"


async def create_application(
    uow: UnitOfWork, request: ApplicationRequest, now: datetime
) -> TraderApplication:
    """Records a SUBMITTED application.

    Raises ``NotFound`` for an unknown trader and ``FailedPrecondition``
    (``APPLICATION_ALREADY_OPEN``) if the trader has an application that is
    not terminal.
    """
    if await TraderRepository(uow.session).get(request.trader_id) is None:
        raise NotFound(TRADER, trader_name(request.trader_id))
    applications = ApplicationRepository(uow.session)
    open_application = await applications.open_application(request.trader_id)
    if open_application is not None:
        raise application_already_open(request.trader_id, open_application)
    application = submit_application(uuid.uuid4().hex, request, now)
    await applications.add(application)
    _log.info(
        "trader_application_submitted",
        trader_application=application.name,
        trader=trader_name(request.trader_id),
    )
    return application


async def get_application(database: Database, application_id: str) -> TraderApplication:
    """One application; raises ``NotFound`` if there is none."""
    async with database.unit_of_work(read_only=True) as uow:
        found = await ApplicationRepository(uow.session).get(application_id)
    if found is None:
        raise NotFound(APPLICATION, application_name(application_id))
    return found


async def list_applications(
    database: Database,
    tokens: PageTokens,
    where: ApplicationFilter,
    page_size: int,
    page_token: str,
) -> Page[TraderApplication]:
    """One page of applications matching ``where``, newest received first."""
    due = where.reevaluation_due_before
    request = page_request(
        tokens,
        "traderApplications",
        {
            "trader": where.trader_id,
            "states": sorted(where.states),
            "due": due.isoformat() if due else None,
        },
        page_size,
        page_token,
    )
    after = None
    if request.after is not None:
        try:
            time, application_id = request.after
            after = (datetime.fromisoformat(str(time)), str(application_id))
        except (ValueError, TypeError):
            raise stale_token() from None
    async with database.unit_of_work(read_only=True) as uow:
        rows = await ApplicationRepository(uow.session).find(where, after, request.size + 1)
    return page_of(
        tokens,
        request,
        rows,
        lambda found: [found.request.receive_time.isoformat(), found.application_id],
    )


async def _review(
    uow: UnitOfWork, trader_id: str, checks: ReviewChecks, by: str, now: datetime
) -> Review:
    """The review as recorded now, with the trader's compliance from the evidence so far."""
    observations = await RecordRepository(uow.session).observations(None, importer_id=trader_id)
    return Review(checks, importer_compliance(trader_id, observations), by, now)


async def _current(uow: UnitOfWork, application_id: str, etag: str) -> TraderApplication:
    """The application as the caller read it: ``NotFound`` if none, ``Aborted`` if stale."""
    application = await ApplicationRepository(uow.session).get(application_id)
    if application is None:
        raise NotFound(APPLICATION, application_name(application_id))
    application.check_etag(etag)
    return application


async def _stored(
    uow: UnitOfWork, before: TraderApplication, after: TraderApplication
) -> TraderApplication:
    await ApplicationRepository(uow.session).save(after)
    _log.info(
        "trader_application_changed",
        trader_application=after.name,
        trader=trader_name(after.trader_id),
        state=after.state.value,
        previous_state=before.state.value,
    )
    return after


async def _applicant(uow: UnitOfWork, application: TraderApplication) -> Trader:
    trader = await TraderRepository(uow.session).get(application.trader_id)
    if trader is None:
        raise RuntimeError(f"the applicant of {application.name} vanished")
    return trader


async def start_review(
    uow: UnitOfWork, application_id: str, etag: str, by: str, now: datetime
) -> TraderApplication:
    """Takes a SUBMITTED application up for review."""
    application = await _current(uow, application_id, etag)
    return await _stored(uow, application, application.start_review(by, now))


async def approve(
    uow: UnitOfWork, application_id: str, etag: str, checks: ReviewChecks, by: str, now: datetime
) -> TraderApplication:
    """Approves an application under review on a satisfactory review; the agreement follows."""
    application = await _current(uow, application_id, etag)
    review = await _review(uow, application.trader_id, checks, by, now)
    return await _stored(uow, application, application.approve(review, now))


async def reject(
    uow: UnitOfWork,
    application_id: str,
    etag: str,
    checks: ReviewChecks | None,
    reason: str,
    by: str,
    now: datetime,
) -> TraderApplication:
    """Rejects an application, with the review that led to it if there was one."""
    application = await _current(uow, application_id, etag)
    review = None
    if checks is not None:
        review = await _review(uow, application.trader_id, checks, by, now)
    return await _stored(uow, application, application.reject(review, reason, by, now))


async def sign_agreement(
    uow: UnitOfWork, application_id: str, etag: str, terms: AgreementTerms, by: str, now: datetime
) -> TraderApplication:
    """Puts the agreement in force: the trader becomes APPROVED with the benefits granted."""
    application = await _current(uow, application_id, etag)
    signed = application.sign(terms, by, now)
    trader = await _applicant(uow, signed)
    due = signed.next_reevaluation_date
    if due is None:
        raise RuntimeError(f"{signed.name} is ACTIVE without a re-evaluation date")
    await change_trader(uow, trader, trader.approved(signed.name, terms.benefits, due, now))
    return await _stored(uow, application, signed)


async def reevaluate(
    uow: UnitOfWork,
    application_id: str,
    etag: str,
    checks: ReviewChecks,
    outcome: ReevaluationOutcome,
    reason: str,
    by: str,
    now: datetime,
) -> TraderApplication:
    """Records a periodic re-evaluation; REVOKED ends the trader's approval."""
    application = await _current(uow, application_id, etag)
    review = await _review(uow, application.trader_id, checks, by, now)
    reevaluated = application.reevaluate(review, outcome, reason, now)
    trader = await _applicant(uow, reevaluated)
    if reevaluated.state is ApplicationState.REVOKED:
        await change_trader(uow, trader, trader.revoked(reevaluated.name, now))
    elif reevaluated.next_reevaluation_date is not None:
        await change_trader(
            uow, trader, trader.reevaluation_due(reevaluated.next_reevaluation_date, now)
        )
    return await _stored(uow, application, reevaluated)


async def revoke(
    uow: UnitOfWork, application_id: str, etag: str, reason: str, by: str, now: datetime
) -> TraderApplication:
    """Revokes an approval for cause: the trader becomes REVOKED and loses its benefits."""
    application = await _current(uow, application_id, etag)
    revoked = application.revoke(reason, by, now)
    trader = await _applicant(uow, revoked)
    await change_trader(uow, trader, trader.revoked(revoked.name, now))
    return await _stored(uow, application, revoked)


async def withdraw(
    uow: UnitOfWork, application_id: str, etag: str, reason: str, by: str, now: datetime
) -> TraderApplication:
    """Records the trader's withdrawal of an application not yet in force."""
    application = await _current(uow, application_id, etag)
    return await _stored(uow, application, application.withdraw(reason, by, now))
