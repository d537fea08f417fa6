"""The selectivity domain in plain Python: declarations, selection rules, decisions."""
