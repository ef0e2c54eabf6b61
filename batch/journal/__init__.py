"""Remember: the SQLite journal (one outcome per row), its schema, and the intent log beside it."""
