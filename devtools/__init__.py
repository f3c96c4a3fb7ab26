"""Development helpers for tests and benchmarks (not installed with factorwatch)."""
