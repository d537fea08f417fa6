"""Schema steps of the kit's own tables, which every service's database holds.

The outbox, inbox and idempotency tables belong to the chassis, so a change to
them is the same Alembic step in each service's history. Each service's
migration calls the step from here instead of carrying its own copy. A step is
frozen once released: change a kit table by adding a step, never by editing one.

It also holds the steps several services take alike on tables of their own:
making a table append-only in the database itself.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

_PENDING = "delivered_at IS NULL AND dead_lettered_at IS NULL"
_DEAD = "dead_lettered_at IS NOT NULL"


def add_outbox_dead_letters() -> None:
    """Outbox events gain a dead-letter time and the resource they belong to."""
    op.add_column(
        "outbox_events", sa.Column("dead_lettered_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("outbox_events", sa.Column("resource", sa.String(length=255), nullable=True))
    # The relay's scan leaves dead letters out, like delivered events.
    op.drop_index("ix_outbox_events_pending", table_name="outbox_events")
    op.create_index(
        "ix_outbox_events_pending",
        "outbox_events",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text(_PENDING),
        sqlite_where=sa.text(_PENDING),
    )
    op.create_index(
        "ix_outbox_events_dead_lettered",
        "outbox_events",
        ["id"],
        unique=False,
        postgresql_where=sa.text(_DEAD),
        sqlite_where=sa.text(_DEAD),
    )
    op.create_index("ix_outbox_events_resource", "outbox_events", ["resource"], unique=False)


def remove_outbox_dead_letters() -> None:
    """Undoes :func:`add_outbox_dead_letters`."""
    op.drop_index("ix_outbox_events_resource", table_name="outbox_events")
    op.drop_index("ix_outbox_events_dead_lettered", table_name="outbox_events")
    op.drop_index("ix_outbox_events_pending", table_name="outbox_events")
    op.create_index(
        "ix_outbox_events_pending",
        "outbox_events",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("delivered_at IS NULL"),
        sqlite_where=sa.text("delivered_at IS NULL"),
    )
    with op.batch_alter_table("outbox_events") as batch:
        batch.drop_column("resource")
        batch.drop_column("dead_lettered_at")


def scope_idempotency_keys_to_callers() -> None:
    """Idempotency keys gain the caller: (method, caller, request_id) is the key."""
    # Batch mode: SQLite rebuilds the table to change its primary key.
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.add_column(
            sa.Column("caller", sa.String(length=255), nullable=False, server_default="")
        )
        batch.drop_constraint("pk_idempotency_keys", type_="primary")
        batch.create_primary_key("pk_idempotency_keys", ["method", "caller", "request_id"])
        batch.alter_column("caller", server_default=None)


def unscope_idempotency_keys() -> None:
    """Undoes :func:`scope_idempotency_keys_to_callers`."""
    # Keys of different callers under one (method, request_id) cannot all stay.
    op.execute("DELETE FROM idempotency_keys WHERE caller <> ''")
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_constraint("pk_idempotency_keys", type_="primary")
        batch.create_primary_key("pk_idempotency_keys", ["method", "request_id"])
        batch.drop_column("caller")


def make_append_only(table: str) -> None:
    """Makes the database refuse every UPDATE and DELETE on ``table`` (a trigger)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION {table}_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '{table} is append-only';
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            f"""
            CREATE TRIGGER {table}_append_only
            BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION {table}_append_only()
            """
        )
        return
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"""
            CREATE TRIGGER {table}_no_{action.lower()}
            BEFORE {action} ON {table}
            BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END
            """
        )


def drop_append_only_table(table: str) -> None:
    """Drops ``table`` made append-only by :func:`make_append_only`, with its trigger."""
    op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION {table}_append_only()")
