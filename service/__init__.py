"""factorwatch: keeps a live, evidence-based ranking of LLM providers per workload."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("factorwatch")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
