"""Revisions of the audit_referral database, oldest first."""
