"""Batch jobs a scheduler runs, each a thin script over the credit library."""
