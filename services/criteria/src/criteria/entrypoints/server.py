"""The criteria service process: ``python -m criteria.entrypoints.server``."""

from __future__ import annotations

import functools

from customs.criteria.v1 import criteria_service_pb2, criteria_service_pb2_grpc

from criteria.adapters.clients import PeerImpactSources, PeerRiskModelSources
from criteria.adapters.events import AUDIT_REFERRAL, EVENT_DESTINATIONS
from criteria.adapters.repositories import history_head
from criteria.entrypoints.mappers import ProtoEncoder
from criteria.entrypoints.options import CriteriaOptions
from criteria.entrypoints.servicer import CriteriaServicer
from criteria.service_layer.expiry import ExpirySweeper
from criteria.service_layer.model_monitoring import RiskModelMonitor
from criteria.service_layer.watch import ActiveSetWatch
from customs_kit.anchoring import CheckpointPublisher, HistoryAnchor
from customs_kit.db import Database
from customs_kit.migrations import run_migrations
from customs_kit.pagination import PageTokens
from customs_kit.peers import Peers
from customs_kit.server import (
    Application,
    BackgroundTask,
    ServiceRegistration,
    run_service,
    settings_or_exit,
)
from customs_kit.settings import ServiceSettings

#: Where the service's Alembic history lives.
MIGRATIONS = "criteria:migrations"


async def bootstrap(
    settings: ServiceSettings, options: CriteriaOptions | None = None
) -> Application:
    """Migrates the database and wires the servicer, its peers, the relay and the sweeper.

    Impact analysis calls scoring and exam_reports, and accepted referrals and
    interventions are relayed to audit_referral and compliance, so
    ``SCORING_ADDR``, ``EXAM_REPORTS_ADDR``, ``AUDIT_REFERRAL_ADDR``,
    ``COMPLIANCE_ADDR`` and ``SERVICE_TOKEN_FILE`` are required; a missing one
    stops the start-up with its name.
    """
    options = options or CriteriaOptions()
    peers = Peers(settings)
    sources = PeerImpactSources(
        peers.channel("scoring"), peers.channel("exam-reports"), peers.metadata
    )
    # Fails the start-up now, not at the first analysis, without SERVICE_TOKEN_FILE.
    peers.metadata()
    if settings.run_migrations_on_start:
        run_migrations(settings.database_url, MIGRATIONS)
    database = Database(settings.database_url)
    relay = peers.outbox_relay(database, EVENT_DESTINATIONS)
    encoder = ProtoEncoder()
    watch = ActiveSetWatch(database, encoder)
    risk_model_sources = PeerRiskModelSources(peers.channel("scoring"), sources, peers.metadata)
    monitor = RiskModelMonitor(
        database,
        risk_model_sources,
        interval=options.risk_model_check_interval,
        window=options.risk_model_check_window,
    )
    background: list[BackgroundTask] = [watch, ExpirySweeper(database, encoder), monitor, relay]
    anchor = None
    if options.history_signer is not None:
        anchor = HistoryAnchor(
            options.history_signer, peers.channel(AUDIT_REFERRAL), peers.metadata
        )
        background.append(
            CheckpointPublisher(
                database, anchor, history_head, options.checkpoint_interval.total_seconds()
            )
        )
    servicer = CriteriaServicer(
        database,
        PageTokens(settings.page_token_secret),
        encoder,
        watch,
        sources,
        analysis_max_age=options.impact_analysis_max_age,
        recommendation_policy=options.recommendation_policy,
        risk_model_sources=risk_model_sources,
        history_anchor=anchor,
    )
    return Application(
        registrations=[
            ServiceRegistration(
                servicer,
                criteria_service_pb2_grpc.add_CriteriaServiceServicer_to_server,
                criteria_service_pb2.DESCRIPTOR.services_by_name["CriteriaService"],
            )
        ],
        # Stopped while the server drains (the watch ends open streams), before the cleanups.
        background=background,
        cleanups=[peers.close, database.dispose],
        resources={"database": database},
        database=database,
    )


def main() -> None:
    """Runs the service until SIGTERM."""
    options = settings_or_exit(CriteriaOptions.from_env)
    run_service("criteria", 50052, functools.partial(bootstrap, options=options))


if __name__ == "__main__":
    main()
