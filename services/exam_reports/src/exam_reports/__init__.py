"""The examination service: offices and capacity, officers and shifts, examination tasks
opened from scoring decisions, and the cargo examination report of the handbook's appendix 1.
"""
