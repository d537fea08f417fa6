"""Use cases: each runs one unit of work against the domain and the repositories."""
