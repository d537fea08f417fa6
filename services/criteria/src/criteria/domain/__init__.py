"""Plain-Python rules of criteria, risk profiles, named lists and their history."""
