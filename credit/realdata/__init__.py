"""Real, public credit data sets turned into labelled, point-in-time feature tables."""
