"""The built-in catalog: providers with their facts and sources, candidates, workloads.

It is plain config data (builtin.yaml, the same shape as the user's file) so that
service.config can merge it underneath the user's file and validate both in one pass.
"""

from __future__ import annotations

import copy
from functools import cache
from importlib import resources
from typing import Any

import yaml

CATALOG_FILE = "builtin.yaml"


@cache
def _load() -> dict[str, Any]:
    text = resources.files(__package__).joinpath(CATALOG_FILE).read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):  # a packaging mistake, not a user error
        raise RuntimeError(f"{CATALOG_FILE}: top level must be a mapping")
    return data


def builtin_catalog() -> dict[str, Any]:
    """Return a fresh copy of the raw catalog mapping (callers may mutate it)."""
    return copy.deepcopy(_load())
