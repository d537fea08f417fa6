"""Initial schema: profiles, criteria, named lists, history chain, outcomes, kit tables

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The history is append-only: the database itself refuses to change or remove
# an entry, so only someone able to drop these triggers can tamper with it (and
# VerifyHistory then shows where).
_POSTGRESQL_APPEND_ONLY = (
    """
    CREATE FUNCTION history_entries_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'history_entries is append-only';
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER history_entries_append_only
    BEFORE UPDATE OR DELETE ON history_entries
    FOR EACH ROW EXECUTE FUNCTION history_entries_append_only()
    """,
)
_SQLITE_APPEND_ONLY = tuple(
    f"""
    CREATE TRIGGER history_entries_no_{action.lower()}
    BEFORE {action} ON history_entries
    BEGIN SELECT RAISE(ABORT, 'history_entries is append-only'); END
    """
    for action in ("UPDATE", "DELETE")
)


def upgrade() -> None:
    op.create_table(
        "change_feed",
        sa.Column(
            "revision",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=63), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("revision", name=op.f("pk_change_feed")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_change_feed_kind_key_revision", "change_feed", ["kind", "key", "revision"], unique=False
    )

    op.create_table(
        "criteria",
        sa.Column("id", sa.String(length=63), nullable=False),
        sa.Column("author", sa.String(length=128), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_criteria")),
    )
    op.create_index(op.f("ix_criteria_author"), "criteria", ["author"], unique=False)

    op.create_table(
        "history_entries",
        sa.Column("sequence", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("resource", sa.String(length=255), nullable=False),
        sa.Column("resource_version", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("actor_roles", sa.Text(), nullable=False),
        sa.Column("change_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("field_changes", sa.Text(), nullable=False),
        sa.Column("previous_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("sequence", name=op.f("pk_history_entries")),
    )
    op.create_index(
        "ix_history_entries_resource",
        "history_entries",
        ["resource", "resource_version"],
        unique=False,
    )
    dialect = op.get_bind().dialect.name
    for statement in _POSTGRESQL_APPEND_ONLY if dialect == "postgresql" else _SQLITE_APPEND_ONLY:
        op.execute(statement)

    op.create_table(
        "idempotency_keys",
        sa.Column("method", sa.String(length=255), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("response", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("method", "request_id", name="pk_idempotency_keys"),
    )
    op.create_table(
        "inbox_events",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=63), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_inbox_events"),
    )
    op.create_table(
        "named_lists",
        sa.Column("id", sa.String(length=63), nullable=False),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_named_lists")),
    )
    op.create_index(op.f("ix_named_lists_kind"), "named_lists", ["kind"], unique=False)

    op.create_table(
        "outbox_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("destination", sa.String(length=63), nullable=False),
        sa.Column("method", sa.String(length=255), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("traceparent", sa.String(length=55), nullable=True),
        sa.Column("tracestate", sa.String(length=512), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_events_event_id")),
    )
    op.create_index(
        "ix_outbox_events_pending",
        "outbox_events",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("delivered_at IS NULL"),
        sqlite_where=sa.text("delivered_at IS NULL"),
    )

    op.create_table(
        "risk_profiles",
        sa.Column("id", sa.String(length=63), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("risk_area", sa.String(length=48), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("sources", sa.Text(), nullable=False),
        sa.Column("indicators", sa.Text(), nullable=False),
        sa.Column("intended_treatment", sa.LargeBinary(), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("next_review_date", sa.String(length=10), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_profiles")),
    )
    op.create_index(op.f("ix_risk_profiles_owner"), "risk_profiles", ["owner"], unique=False)
    op.create_index(
        op.f("ix_risk_profiles_risk_area"), "risk_profiles", ["risk_area"], unique=False
    )

    op.create_table(
        "criterion_revisions",
        sa.Column("criterion_id", sa.String(length=63), nullable=False),
        sa.Column("revision", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("risk_profile_id", sa.String(length=63), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("rule", sa.LargeBinary(), nullable=False),
        sa.Column("validity_start_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("validity_end_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("campaign_tag", sa.String(length=63), nullable=False),
        sa.Column("author", sa.String(length=128), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["criterion_id"],
            ["criteria.id"],
            name=op.f("fk_criterion_revisions_criterion_id_criteria"),
        ),
        sa.ForeignKeyConstraint(
            ["risk_profile_id"],
            ["risk_profiles.id"],
            name=op.f("fk_criterion_revisions_risk_profile_id_risk_profiles"),
        ),
        sa.PrimaryKeyConstraint("criterion_id", "revision", name=op.f("pk_criterion_revisions")),
    )
    op.create_index(
        op.f("ix_criterion_revisions_campaign_tag"),
        "criterion_revisions",
        ["campaign_tag"],
        unique=False,
    )
    op.create_index(
        op.f("ix_criterion_revisions_risk_profile_id"),
        "criterion_revisions",
        ["risk_profile_id"],
        unique=False,
    )

    op.create_table(
        "named_list_revisions",
        sa.Column("named_list_id", sa.String(length=63), nullable=False),
        sa.Column("revision", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("history_sequence", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("items", sa.LargeBinary(), nullable=False),
        sa.Column("editor", sa.String(length=128), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["history_sequence"],
            ["history_entries.sequence"],
            name=op.f("fk_named_list_revisions_history_sequence_history_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["named_list_id"],
            ["named_lists.id"],
            name=op.f("fk_named_list_revisions_named_list_id_named_lists"),
        ),
        sa.PrimaryKeyConstraint("named_list_id", "revision", name=op.f("pk_named_list_revisions")),
        sa.UniqueConstraint(
            "history_sequence", name=op.f("uq_named_list_revisions_history_sequence")
        ),
    )
    op.create_table(
        "criterion_versions",
        sa.Column("criterion_id", sa.String(length=63), nullable=False),
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("history_sequence", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=48), nullable=False),
        sa.Column("amendment_state", sa.String(length=48), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("active_revision", sa.BigInteger(), nullable=False),
        sa.Column("approver", sa.String(length=128), nullable=False),
        sa.Column("approve_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["criterion_id", "revision"],
            ["criterion_revisions.criterion_id", "criterion_revisions.revision"],
            name=op.f("fk_criterion_versions_criterion_id_revision_criterion_revisions"),
        ),
        sa.ForeignKeyConstraint(
            ["criterion_id"],
            ["criteria.id"],
            name=op.f("fk_criterion_versions_criterion_id_criteria"),
        ),
        sa.ForeignKeyConstraint(
            ["history_sequence"],
            ["history_entries.sequence"],
            name=op.f("fk_criterion_versions_history_sequence_history_entries"),
        ),
        sa.PrimaryKeyConstraint("criterion_id", "version", name=op.f("pk_criterion_versions")),
        sa.UniqueConstraint(
            "history_sequence", name=op.f("uq_criterion_versions_history_sequence")
        ),
    )
    op.create_index("ix_criterion_versions_state", "criterion_versions", ["state"], unique=False)
    op.create_table(
        "audit_findings",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("source_service", sa.String(length=63), nullable=False),
        sa.Column("occur_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("receive_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("audit_case", sa.String(length=200), nullable=False),
        sa.Column("importer_id", sa.String(length=35), nullable=False),
        sa.Column("declaration_numbers", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=48), nullable=False),
        sa.Column("discrepancy_found", sa.Boolean(), nullable=False),
        sa.Column("unpaid_duty_currency", sa.String(length=3), nullable=True),
        sa.Column("unpaid_duty_units", sa.BigInteger(), nullable=True),
        sa.Column("unpaid_duty_nanos", sa.Integer(), nullable=True),
        sa.Column("penalty_currency", sa.String(length=3), nullable=True),
        sa.Column("penalty_units", sa.BigInteger(), nullable=True),
        sa.Column("penalty_nanos", sa.Integer(), nullable=True),
        sa.Column("finding_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_audit_findings")),
    )
    op.create_index(
        op.f("ix_audit_findings_importer_id"), "audit_findings", ["importer_id"], unique=False
    )
    op.create_table(
        "examination_outcomes",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("source_service", sa.String(length=63), nullable=False),
        sa.Column("occur_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("receive_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("examination_report", sa.String(length=200), nullable=False),
        sa.Column("assessment", sa.String(length=80), nullable=False),
        sa.Column("declaration_number", sa.String(length=35), nullable=False),
        sa.Column("declaration_version", sa.Integer(), nullable=False),
        sa.Column("office_code", sa.String(length=63), nullable=False),
        sa.Column("importer_id", sa.String(length=35), nullable=False),
        sa.Column("declarant_id", sa.String(length=35), nullable=False),
        sa.Column("examine_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=48), nullable=False),
        sa.Column("examination_level", sa.String(length=48), nullable=False),
        sa.Column("randomly_selected", sa.Boolean(), nullable=False),
        sa.Column("officer_initiated", sa.Boolean(), nullable=False),
        sa.Column("discrepancy_found", sa.Boolean(), nullable=False),
        sa.Column("revenue_currency", sa.String(length=3), nullable=True),
        sa.Column("revenue_units", sa.BigInteger(), nullable=True),
        sa.Column("revenue_nanos", sa.Integer(), nullable=True),
        sa.Column("penalty_recommended", sa.Boolean(), nullable=False),
        sa.Column("seized", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_examination_outcomes")),
    )
    op.create_index(
        "ix_examination_outcomes_office_time",
        "examination_outcomes",
        ["office_code", "examine_time"],
        unique=False,
    )
    op.create_table(
        "audit_finding_criteria",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("criterion_id", sa.String(length=63), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["audit_findings.event_id"],
            name=op.f("fk_audit_finding_criteria_event_id_audit_findings"),
        ),
        sa.PrimaryKeyConstraint("event_id", "position", name=op.f("pk_audit_finding_criteria")),
    )
    op.create_index(
        op.f("ix_audit_finding_criteria_criterion_id"),
        "audit_finding_criteria",
        ["criterion_id"],
        unique=False,
    )
    op.create_table(
        "examination_criterion_hits",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("criterion_id", sa.String(length=63), nullable=False),
        sa.Column("criterion_revision", sa.BigInteger(), nullable=False),
        sa.Column("item_number", sa.Integer(), nullable=False),
        sa.Column("discrepancy_found", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["examination_outcomes.event_id"],
            name=op.f("fk_examination_criterion_hits_event_id_examination_outcomes"),
        ),
        sa.PrimaryKeyConstraint("event_id", "position", name=op.f("pk_examination_criterion_hits")),
    )
    op.create_index(
        op.f("ix_examination_criterion_hits_criterion_id"),
        "examination_criterion_hits",
        ["criterion_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_examination_criterion_hits_criterion_id"),
        table_name="examination_criterion_hits",
    )
    op.drop_table("examination_criterion_hits")
    op.drop_index(
        op.f("ix_audit_finding_criteria_criterion_id"), table_name="audit_finding_criteria"
    )
    op.drop_table("audit_finding_criteria")
    op.drop_index("ix_examination_outcomes_office_time", table_name="examination_outcomes")
    op.drop_table("examination_outcomes")
    op.drop_index(op.f("ix_audit_findings_importer_id"), table_name="audit_findings")
    op.drop_table("audit_findings")
    op.drop_index("ix_criterion_versions_state", table_name="criterion_versions")
    op.drop_table("criterion_versions")
    op.drop_table("named_list_revisions")
    op.drop_index(op.f("ix_criterion_revisions_risk_profile_id"), table_name="criterion_revisions")
    op.drop_index(op.f("ix_criterion_revisions_campaign_tag"), table_name="criterion_revisions")
    op.drop_table("criterion_revisions")
    op.drop_index(op.f("ix_risk_profiles_risk_area"), table_name="risk_profiles")
    op.drop_index(op.f("ix_risk_profiles_owner"), table_name="risk_profiles")
    op.drop_table("risk_profiles")
    op.drop_index(
        "ix_outbox_events_pending",
        table_name="outbox_events",
        postgresql_where=sa.text("delivered_at IS NULL"),
        sqlite_where=sa.text("delivered_at IS NULL"),
    )
    op.drop_table("outbox_events")
    op.drop_index(op.f("ix_named_lists_kind"), table_name="named_lists")
    op.drop_table("named_lists")
    op.drop_table("inbox_events")
    op.drop_table("idempotency_keys")
    op.drop_index("ix_history_entries_resource", table_name="history_entries")
    op.drop_table("history_entries")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION history_entries_append_only()")
    op.drop_index(op.f("ix_criteria_author"), table_name="criteria")
    op.drop_table("criteria")
    op.drop_index("ix_change_feed_kind_key_revision", table_name="change_feed")
    op.drop_table("change_feed")
