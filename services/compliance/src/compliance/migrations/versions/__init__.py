"""Revisions of the compliance database, oldest first."""
