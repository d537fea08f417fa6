"""Upgrades the audit_referral database to the latest revision (the migration Job)."""

from __future__ import annotations

from customs_kit.migrations import migrate_main


def main() -> None:
    """Runs the migrations against ``DATABASE_URL``."""
    migrate_main("audit-referral", "audit_referral:migrations")


if __name__ == "__main__":
    main()
