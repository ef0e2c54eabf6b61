"""Apply: the worker pool, one unit's attempts, the rate meter around every call, backoff."""
