"""Plain-Python model and rules of examinations (no gRPC, no SQL, no logging)."""
