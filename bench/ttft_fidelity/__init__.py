"""TTFT and ITL fidelity against server-side truth, beside guidellm: see __main__.py."""
