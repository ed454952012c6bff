"""Servicing of the book: receivables, repayments and their allocation, dunning, installments."""
