"""The compliance service: traders and their profiles, trade statistics, compliance measurement."""
