"""The financing book over HTTP: a financing's lifecycle (payout, collections, recoveries, cancellation) and its reads."""
