"""The criteria service: risk profiles, examination criteria under four-eyes control,
named lists, their hash-chained history, and the active-set stream to scoring."""
