"""Compliance rules in plain Python: traders, recorded declarations, measurement."""
