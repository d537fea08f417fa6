"""Alembic environment of the criteria service."""

from criteria.adapters.orm import metadata
from customs_kit.migrations import configure_alembic_env

configure_alembic_env(metadata)
