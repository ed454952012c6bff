"""Checkout credit over HTTP: pre-check, authorize (hold), capture, void, refund, and line repayments."""
