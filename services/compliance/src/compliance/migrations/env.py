"""Alembic environment of the compliance database."""

from compliance.adapters.orm import metadata
from customs_kit.migrations import configure_alembic_env

configure_alembic_env(metadata)
