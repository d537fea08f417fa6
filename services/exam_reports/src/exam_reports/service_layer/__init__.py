"""Use cases: each handler owns its transaction and speaks in domain terms."""
