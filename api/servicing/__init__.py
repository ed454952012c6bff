"""The book's receivables over HTTP: the list (filters, cursor pages), one receivable, a buyer's statement, the CSV export."""
