"""The scoring service: the selectivity review of every declaration at lodgement."""
