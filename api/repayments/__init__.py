"""Repayments over HTTP: money from the buyer, returned payments and credit balance refunds."""
