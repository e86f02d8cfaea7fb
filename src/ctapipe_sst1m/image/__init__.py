"""Image processing: the SST-1M image cleaner."""
