"""Read: a job file (CSV or Parquet, any supported encoding) into a text frame with row numbers."""
