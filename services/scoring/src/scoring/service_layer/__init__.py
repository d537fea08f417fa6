"""Use cases of the scoring service; each owns its transaction."""
