"""Portfolio monitoring over HTTP: the latest run's drift, calibration and early-warning list."""
