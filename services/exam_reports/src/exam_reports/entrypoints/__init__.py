"""Process entry points: the gRPC server, its servicer and the migration job."""
