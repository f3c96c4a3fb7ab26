"""Data that ships with the probes: the default tool catalog and eval set."""
