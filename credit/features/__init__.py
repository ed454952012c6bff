"""Firm-level features, point-in-time correct (see SPEC 3.2)."""
