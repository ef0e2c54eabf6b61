"""One run end to end: journal, engine and ledger joined, the recorder between them, the summary."""
