"""Upgrades the criteria database (the Kubernetes migration Job)."""

from __future__ import annotations

from customs_kit.migrations import migrate_main


def main() -> None:
    """Upgrades ``DATABASE_URL`` to the latest schema."""
    migrate_main("criteria", "criteria:migrations")


if __name__ == "__main__":
    main()
