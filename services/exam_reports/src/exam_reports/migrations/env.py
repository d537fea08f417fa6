"""Alembic environment of the exam-reports database."""

from customs_kit.migrations import configure_alembic_env
from exam_reports.adapters.orm import metadata

configure_alembic_env(metadata)
