"""docs/config.md names every key the config accepts."""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path

from pydantic import BaseModel

from service.config import Settings

DOC = (Path(__file__).resolve().parents[1] / "docs" / "config.md").read_text()


def models_in(annotation: object) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found = []
    for arg in typing.get_args(annotation):
        found.extend(models_in(arg))
    if isinstance(annotation, types.UnionType):
        for arg in annotation.__args__:
            found.extend(models_in(arg))
    return found


def all_keys(model: type[BaseModel], seen: set[type[BaseModel]]) -> set[str]:
    if model in seen:
        return set()
    seen.add(model)
    keys = set()
    for name, field in model.model_fields.items():
        keys.add(name)
        for sub in models_in(field.annotation):
            keys |= all_keys(sub, seen)
    return keys


def test_every_config_key_is_documented() -> None:
    undocumented = sorted(k for k in all_keys(Settings, set())
                          if not re.search(rf"`[^`]*\b{k}\b[^`]*`", DOC))
    assert undocumented == []
