"""`make run DATABASE=...`: one database per service on the given PostgreSQL server."""

from __future__ import annotations

import psycopg
import pytest
from private_postgres import PrivatePostgres
from run_platform import SERVICES, postgres_databases

pytestmark = pytest.mark.postgres


def test_each_service_gets_a_database_of_its_name_created_once(
    postgres_server: PrivatePostgres,
) -> None:
    server = f"postgresql://postgres@127.0.0.1:{postgres_server.port}/postgres"
    urls = postgres_databases(server, SERVICES)
    # A second start finds them and keeps their data.
    assert postgres_databases(server, SERVICES) == urls
    assert urls == {
        s.package: f"postgresql+psycopg://postgres@127.0.0.1:{postgres_server.port}/{s.package}"
        for s in SERVICES
    }
    with psycopg.connect(postgres_server.dsn("postgres")) as connection:
        names = {row[0] for row in connection.execute("SELECT datname FROM pg_database")}
    assert {s.package for s in SERVICES} <= names


def test_a_url_of_another_database_is_refused() -> None:
    with pytest.raises(ValueError, match="not a PostgreSQL URL"):
        postgres_databases("sqlite:///var/x.db", SERVICES)
