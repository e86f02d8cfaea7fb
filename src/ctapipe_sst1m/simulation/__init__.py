"""Toy SST-1M Monte Carlo (a test and demonstration instrument, not sim_telarray)."""
