"""The exam-reports process: ``customs-exam-reports`` (or ``python -m ...entrypoints.server``)."""

from __future__ import annotations

import functools

from customs.exam_reports.v1 import exam_reports_service_pb2, exam_reports_service_pb2_grpc

from customs_kit.anchoring import KEEPER, HistoryAnchor
from customs_kit.changefeed import FeedStreams
from customs_kit.db import Database
from customs_kit.migrations import run_migrations
from customs_kit.pagination import PageTokens
from customs_kit.peers import Peers
from customs_kit.server import Application, ServiceRegistration, run_service, settings_or_exit
from customs_kit.settings import ServiceSettings
from exam_reports.adapters.events import DECLARATION_OUTCOME_FEED, EVENT_DESTINATIONS
from exam_reports.entrypoints.options import ExamReportsOptions
from exam_reports.entrypoints.servicer import ExamReportsServicer
from exam_reports.service_layer.capacity_feed import (
    OfficeCapacityWatch,
    publish_all_capacity_limits,
)
from exam_reports.service_layer.common import Pager
from exam_reports.service_layer.examinations import WaitingTaskAssigner

SERVICE_NAME = "exam-reports"
DEFAULT_PORT = 50053
MIGRATIONS = "exam_reports:migrations"


async def bootstrap(
    settings: ServiceSettings, options: ExamReportsOptions | None = None
) -> Application:
    """Builds the service from its settings: database (migrated), servicer, background work.

    Approved reports publish their outcome through the outbox, so the relay
    needs the addresses of criteria, compliance and audit referral
    (``CRITERIA_ADDR``, ``COMPLIANCE_ADDR``, ``AUDIT_REFERRAL_ADDR``) and
    ``SERVICE_TOKEN_FILE``; a missing one stops the start-up with its name.
    ``options`` default to :class:`ExamReportsOptions`' defaults.
    """
    options = options or ExamReportsOptions()
    if settings.run_migrations_on_start:
        run_migrations(settings.database_url, MIGRATIONS)
    database = Database(settings.database_url)
    peers = Peers(settings)
    relay = peers.outbox_relay(database, EVENT_DESTINATIONS)
    outcomes = FeedStreams(database, (DECLARATION_OUTCOME_FEED,))
    # Offices created before the capacity feed existed join it before anyone watches.
    await publish_all_capacity_limits(database)
    capacity_watch = OfficeCapacityWatch(database)
    anchor = (
        None
        if options.history_signer is None
        else HistoryAnchor(options.history_signer, peers.channel(KEEPER), peers.metadata)
    )
    servicer = ExamReportsServicer(
        database,
        Pager(PageTokens(settings.page_token_secret)),
        capacity_watch,
        outcomes=outcomes,
        national_currency=options.national_currency,
        history_anchor=anchor,
    )
    return Application(
        registrations=[
            ServiceRegistration(
                servicer,
                exam_reports_service_pb2_grpc.add_ExamReportsServiceServicer_to_server,
                exam_reports_service_pb2.DESCRIPTOR.services_by_name["ExamReportsService"],
            )
        ],
        background=[WaitingTaskAssigner(database), relay, outcomes, capacity_watch],
        cleanups=[peers.close, database.dispose],
        resources={"database": database},
        database=database,
    )


def main() -> None:
    """Runs the service until SIGTERM or SIGINT."""
    options = settings_or_exit(ExamReportsOptions.from_env)
    run_service(SERVICE_NAME, DEFAULT_PORT, functools.partial(bootstrap, options=options))


if __name__ == "__main__":
    main()
