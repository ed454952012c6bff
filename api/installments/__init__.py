"""Installment plans over HTTP: a receivable's quote, its acceptance, and early settlement."""
