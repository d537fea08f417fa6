"""Alembic environment of the audit_referral database."""

from audit_referral.adapters.orm import metadata
from customs_kit.migrations import configure_alembic_env

configure_alembic_env(metadata)
