"""The gRPC face of the criteria service: server, servicer, mappers, migrate job."""
