"""Treat-to-target signals: pure rules (rules.py, adequacy.py), the batch reads they need
(inputs.py) and the recompute with its alerts (job.py)."""
