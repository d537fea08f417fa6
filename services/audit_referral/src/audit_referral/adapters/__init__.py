"""Persistence of referrals, audit cases and findings (SQLAlchemy)."""
