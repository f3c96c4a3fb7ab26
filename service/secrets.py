"""Secrets as a config names them: the environment variable or the file that holds one.

The config never holds a secret itself (service/config/checks.py refuses one). These are
shared by the config's models and the sinks' own config models (service/sinks/config.py),
which sit below the config package.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator

log = logging.getLogger(__name__)


def _env_name(value: str) -> str:
    # Refuse anything that looks like the secret itself, and do not echo it back.
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        raise ValueError("must name an environment variable (letters, digits, _)")
    return value


EnvName = Annotated[str, AfterValidator(_env_name)]


def read_secret(
    env_name: str | None, file_path: str | None, environ: Mapping[str, str] | None
) -> str | None:
    """Read a secret from the named variable or file; the value is never logged."""
    if env_name:
        return (os.environ if environ is None else environ).get(env_name) or None
    if file_path:
        try:
            return Path(file_path).read_text(encoding="utf-8").rstrip("\r\n") or None
        except OSError as exc:
            log.warning("cannot read secret file %s: %s", file_path, exc.strerror)
    return None
