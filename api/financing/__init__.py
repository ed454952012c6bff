"""Order financing and receivables financing: quotes and bookings."""
