"""Shared pytest fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A URL for a fresh SQLite file database in the test's temporary directory."""
    return f"sqlite:///{tmp_path / 'factorwatch.db'}"
