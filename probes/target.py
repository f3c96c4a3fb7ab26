"""What a probe is pointed at: one model behind one API, with its key resolved."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from probes.auth import Credentials

_NO_OPTIONS: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class Target:
    api: str  # dialect name, e.g. "openai"
    base_url: str  # e.g. https://api.openai.com/v1
    model: str
    # The resolved secret. repr=False keeps it out of logs and tracebacks.
    api_key: str | None = field(default=None, repr=False)
    timeout_seconds: float = 30.0
    max_tokens: int = 16  # probes are cheap by default: every token is paid for
    prompt: str = "Count from 1 to 10, separated by spaces."
    max_body_bytes: int = 1_000_000  # a stream larger than this is cut and classed malformed
    # Per-kind settings from the config (prompt, tools, eval_set, sample, context_tokens,
    # depths, and max_tokens when it was set explicitly); each probe reads its own.
    options: Mapping[str, Any] = field(default_factory=lambda: _NO_OPTIONS, hash=False)
    # What logs call it: the candidate id, since several candidates may share a model name.
    name: str = ""
    # Signs each request where a static key is not enough (probes/auth.py); holds secrets.
    credentials: Credentials | None = field(default=None, repr=False, compare=False)

    @property
    def label(self) -> str:
        return self.name or self.model

    def option(self, name: str, default: Any) -> Any:
        value = self.options.get(name)
        return default if value is None else value
