"""Use cases of the criteria service: one function per command or query."""
