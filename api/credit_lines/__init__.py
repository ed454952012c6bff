"""Credit-line applications, the finance team's review queue, and changes to open lines."""
