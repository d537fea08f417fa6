"""The criteria service process: ``python -m criteria.entrypoints.server``."""

from __future__ import annotations

import functools

from customs.criteria.v1 import criteria_service_pb2, criteria_service_pb2_grpc

from criteria.adapters.clients import PeerImpactSources, PeerRiskModelSources
from criteria.adapters.events import EVENT_DESTINATIONS
from criteria.entrypoints.mappers import ProtoEncoder
from criteria.entrypoints.options import CriteriaOptions
from criteria.entrypoints.servicer import CriteriaServicer
from criteria.service_layer.expiry import ExpirySweeper
from criteria.service_layer.model_monitoring import RiskModelMonitor
from criteria.service_layer.watch import ActiveSetWatch
from customs_kit.db import Database
from customs_kit.migrations import run_migrations
from customs_kit.pagination import PageTokens
from customs_kit.peers import Peers
from customs_kit.server import (
    Application,
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
    servicer = CriteriaServicer(
        database,
        PageTokens(settings.page_token_secret),
        encoder,
        watch,
        sources,
        analysis_max_age=options.impact_analysis_max_age,
        recommendation_policy=options.recommendation_policy,
        risk_model_sources=risk_model_sources,
    )
    monitor = RiskModelMonitor(
        database,
        risk_model_sources,
        interval=options.risk_model_check_interval,
        window=options.risk_model_check_window,
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
        background=[watch, ExpirySweeper(database, encoder), monitor, relay],
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
