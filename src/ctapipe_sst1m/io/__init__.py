"""Input/output: the SST-1M event source and file helpers."""
