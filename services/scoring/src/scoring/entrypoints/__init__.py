"""Entrypoints: the gRPC server, the criteria stream follower, the migration job."""
