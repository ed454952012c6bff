"""The financing book: order financing, receivables financing and transaction-flow loans after approval.

``tables`` declares the book, ``journal`` is the only place money on a financing is booked,
``exposure`` sums what every product puts at risk on a firm (the one exposure the caps read).
"""
