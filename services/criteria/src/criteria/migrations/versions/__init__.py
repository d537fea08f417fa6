"""Revisions of the criteria schema."""
