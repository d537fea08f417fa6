"""Alembic environment of the test-only schema in ``schema.py``."""

import runpy
from pathlib import Path

from customs_kit.migrations import configure_alembic_env

# The test tree is not an importable package, so the schema is run from its file.
configure_alembic_env(runpy.run_path(str(Path(__file__).with_name("schema.py")))["metadata"])
