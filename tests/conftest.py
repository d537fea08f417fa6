"""Fixtures shared by every test: the chassis's pytest plugins."""

pytest_plugins = ["customs_kit.testing.services", "customs_kit.testing.database"]
