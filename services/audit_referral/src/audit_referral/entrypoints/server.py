"""The audit_referral process: database, migrations, outbox relay, gRPC server."""

from __future__ import annotations

import functools

from customs.audit_referral.v1 import (
    audit_referral_service_pb2,
    audit_referral_service_pb2_grpc,
)

from audit_referral.adapters.publisher import COMPLIANCE, CRITERIA, SCORING
from audit_referral.entrypoints.options import AuditReferralOptions
from audit_referral.entrypoints.servicer import AuditReferralServicer
from customs_kit.db import Database
from customs_kit.migrations import run_migrations
from customs_kit.pagination import PageTokens
from customs_kit.peers import Peers
from customs_kit.server import Application, ServiceRegistration, run_service, settings_or_exit
from customs_kit.settings import ServiceSettings

SERVICE_NAME = "audit-referral"
DEFAULT_PORT = 50055
MIGRATIONS = "audit_referral:migrations"


async def bootstrap(
    settings: ServiceSettings, options: AuditReferralOptions | None = None
) -> Application:
    """Builds the service: its database (migrated), the relay of its audit reports, the API."""
    options = options or AuditReferralOptions()
    if settings.run_migrations_on_start:
        run_migrations(settings.database_url, MIGRATIONS)
    database = Database(settings.database_url)
    peers = Peers(settings)
    relay = peers.outbox_relay(database, [COMPLIANCE, CRITERIA, SCORING])
    servicer = AuditReferralServicer(
        database, PageTokens(settings.page_token_secret), options.checkpoint_keys
    )
    return Application(
        registrations=[
            ServiceRegistration(
                servicer,
                audit_referral_service_pb2_grpc.add_AuditReferralServiceServicer_to_server,
                audit_referral_service_pb2.DESCRIPTOR.services_by_name["AuditReferralService"],
            )
        ],
        background=[relay],
        cleanups=[database.dispose, peers.close],
        resources={"database": database},
        database=database,
    )


def main() -> None:
    """Runs the service until SIGTERM."""
    options = settings_or_exit(AuditReferralOptions.from_env)
    run_service(SERVICE_NAME, DEFAULT_PORT, functools.partial(bootstrap, options=options))


if __name__ == "__main__":
    main()
