"""Persistence of the compliance service."""
