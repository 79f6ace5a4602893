"""Editing: linear W directions (directions.py), edits carried into tri-planes per method (triplane.py),
reference-based region transfer (reference.py)."""
