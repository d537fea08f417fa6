"""Process entry points: the gRPC server and the migration job."""
