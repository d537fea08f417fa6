"""Adapters: the database, the criteria stream, the outbound events, the wire format."""
