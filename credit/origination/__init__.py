"""What the decision service originated: credit-line applications and booked financings (tables only)."""
