"""The book's receivables over HTTP: the list (filters, cursor pages), one receivable, a statement, the CSV export."""
