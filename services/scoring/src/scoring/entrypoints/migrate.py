"""Upgrades the scoring database to the latest migration (the Kubernetes migration Job)."""

from __future__ import annotations

from customs_kit.migrations import migrate_main


def main() -> None:
    """Runs the migrations against ``DATABASE_URL``."""
    migrate_main("scoring", "scoring:migrations")


if __name__ == "__main__":
    main()
