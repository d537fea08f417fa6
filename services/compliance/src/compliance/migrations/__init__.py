"""Alembic history of the compliance database."""
