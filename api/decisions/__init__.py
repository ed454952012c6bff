"""Reading audited decisions."""
