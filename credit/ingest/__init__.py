"""Load history files (CSV or Parquet) into the store, validated, with bad rows quarantined."""

from credit.ingest.reading import UnusableFileError
from credit.ingest.run import FileResult, ingest_files, find_history_files

__all__ = ["FileResult", "UnusableFileError", "find_history_files", "ingest_files"]
