"""The sandbox's own routes: its clock and its test buyers (test keys only)."""
