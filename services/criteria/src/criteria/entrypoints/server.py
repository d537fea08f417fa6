"""The criteria service process: ``python -m criteria.entrypoints.server``."""

from __future__ import annotations

from customs.criteria.v1 import criteria_service_pb2, criteria_service_pb2_grpc

from criteria.entrypoints.mappers import ProtoEncoder
from criteria.entrypoints.servicer import CriteriaServicer
from criteria.service_layer.expiry import ExpirySweeper
from criteria.service_layer.watch import ActiveSetWatch
from customs_kit.db import Database
from customs_kit.migrations import run_migrations
from customs_kit.pagination import PageTokens
from customs_kit.server import Application, ServiceRegistration, run_service
from customs_kit.settings import ServiceSettings

#: Where the service's Alembic history lives.
MIGRATIONS = "criteria:migrations"


async def bootstrap(settings: ServiceSettings) -> Application:
    """Migrates the database and wires the servicer and the expiry sweeper."""
    if settings.run_migrations_on_start:
        run_migrations(settings.database_url, MIGRATIONS)
    database = Database(settings.database_url)
    encoder = ProtoEncoder()
    watch = ActiveSetWatch(database, encoder)
    servicer = CriteriaServicer(database, PageTokens(settings.page_token_secret), encoder, watch)
    return Application(
        registrations=[
            ServiceRegistration(
                servicer,
                criteria_service_pb2_grpc.add_CriteriaServiceServicer_to_server,
                criteria_service_pb2.DESCRIPTOR.services_by_name["CriteriaService"],
            )
        ],
        # Stopped in reverse order, after the server and before the cleanups.
        background=[watch, ExpirySweeper(database, encoder)],
        cleanups=[database.dispose],
        resources={"database": database},
    )


def main() -> None:
    """Runs the service until SIGTERM."""
    run_service("criteria", 50052, bootstrap)


if __name__ == "__main__":
    main()
