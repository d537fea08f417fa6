"""The criteria service's Alembic history."""
