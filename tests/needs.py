"""Tests that run a real binary (promtool, prometheus, chromium) skip on a laptop without it
and fail in CI, which installs them (devtools/install-system-packages, FACTORWATCH_CI=1)."""

from __future__ import annotations

import os
import shutil

import pytest


def binary(name: str, package: str) -> str:
    found = shutil.which(name) or (f"/usr/bin/{name}" if os.path.exists(f"/usr/bin/{name}")
                                   else None)
    if found:
        return found
    reason = f"{name} is not installed (Debian package {package})"
    if os.environ.get("FACTORWATCH_CI"):
        pytest.fail(f"{reason}: CI must have it", pytrace=False)
    pytest.skip(reason)
