"""The compliance service process: ``customs-compliance`` (port 50054)."""

from __future__ import annotations

from customs.compliance.v1 import compliance_service_pb2, compliance_service_pb2_grpc

from compliance.entrypoints.servicer import ComplianceServicer
from compliance.service_layer.watch import ProfileWatch
from customs_kit.db import Database
from customs_kit.migrations import run_migrations
from customs_kit.pagination import PageTokens
from customs_kit.server import Application, ServiceRegistration, run_service
from customs_kit.settings import ServiceSettings

SERVICE_NAME = "compliance"
DEFAULT_PORT = 50054
MIGRATIONS = "compliance:migrations"


async def bootstrap(settings: ServiceSettings) -> Application:
    """Opens the database (migrated when configured to) and builds the servicer.

    The service calls no peer: it only receives events and serves reads and
    its watch stream, so it needs no channels and runs no outbox relay.
    """
    if settings.run_migrations_on_start:
        run_migrations(settings.database_url, MIGRATIONS)
    database = Database(settings.database_url)
    watch = ProfileWatch(database)
    servicer = ComplianceServicer(database, PageTokens(settings.page_token_secret), watch)
    return Application(
        registrations=[
            ServiceRegistration(
                servicer,
                compliance_service_pb2_grpc.add_ComplianceServiceServicer_to_server,
                compliance_service_pb2.DESCRIPTOR.services_by_name["ComplianceService"],
            )
        ],
        # Stopped before the cleanups: open streams end before the database closes.
        background=[watch],
        cleanups=[database.dispose],
        resources={"database": database},
        database=database,
    )


def main() -> None:
    """Runs the service until SIGTERM."""
    run_service(SERVICE_NAME, DEFAULT_PORT, bootstrap)


if __name__ == "__main__":
    main()
