"""Check: rule objects, the vectorised validation pass and the header check; no I/O."""
