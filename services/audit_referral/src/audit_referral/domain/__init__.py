"""Plain-Python model and rules of referrals and audit cases (no gRPC, no SQL, no logging)."""
