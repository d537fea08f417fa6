"""Upgrades the exam-reports database to the latest schema (the Kubernetes migration Job)."""

from __future__ import annotations

from customs_kit.migrations import migrate_main


def main() -> None:
    """Runs the migrations against ``DATABASE_URL``."""
    migrate_main("exam-reports", "exam_reports:migrations")


if __name__ == "__main__":
    main()
