"""Persistence of the criteria service."""
