"""API access administration: issue, list and revoke API keys (admin role)."""
