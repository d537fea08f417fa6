"""The migration job: upgrades the compliance database to the latest schema and exits."""

from __future__ import annotations

from customs_kit.migrations import migrate_main


def main() -> None:
    """Runs the migrations against ``DATABASE_URL``."""
    migrate_main("compliance", "compliance:migrations")


if __name__ == "__main__":
    main()
