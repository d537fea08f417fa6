"""Alembic environment of the scoring database."""

from customs_kit.migrations import configure_alembic_env
from scoring.adapters.orm import metadata

configure_alembic_env(metadata)
