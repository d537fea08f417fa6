"""The Alembic history of the audit_referral database."""
