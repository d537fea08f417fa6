"""Persistence of the examination service (SQLAlchemy tables and repositories)."""
