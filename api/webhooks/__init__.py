"""Webhook endpoints: register, change, rotate secrets, read deliveries and their attempts, redeliver."""
