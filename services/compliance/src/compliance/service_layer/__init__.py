"""Use cases of the compliance service; each owns its transaction."""
