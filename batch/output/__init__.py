"""Tell: the ledger, the rejects file, progress, logs, and safe file writing."""
