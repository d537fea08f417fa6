"""The gRPC server, its servicer and the proto <-> domain mapping."""
