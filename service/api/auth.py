"""Bearer-token guard for every endpoint that changes state (rescore, silences, ...).

The token comes from FACTORWATCH_API_TOKEN (or a file named by FACTORWATCH_API_TOKEN_FILE).
Without one, state-changing endpoints are refused outright: read-only is the safe default
for a daemon that listens on a port. Reads need no token.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

log = logging.getLogger(__name__)

TOKEN_ENV = "FACTORWATCH_API_TOKEN"
_bearer = HTTPBearer(auto_error=False, description=f"The token in ${TOKEN_ENV}.")


def api_token_from(environ: Mapping[str, str]) -> str | None:
    """The configured token, or None (then state-changing endpoints are disabled)."""
    token = environ.get(TOKEN_ENV)
    path = environ.get(f"{TOKEN_ENV}_FILE")
    if token is None and path:
        try:
            token = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            log.error("%s_FILE: cannot read %s: %s; state-changing endpoints are disabled",
                      TOKEN_ENV, path, exc.strerror)
            return None
    return token or None


async def require_token(request: Request, credentials: Annotated[
        HTTPAuthorizationCredentials | None, Depends(_bearer)] = None) -> None:
    """FastAPI dependency: pass only with `Authorization: Bearer <the configured token>`.
    (Depends(_bearer) also puts the scheme in the OpenAPI document.)"""
    expected: str | None = request.app.state.api_token
    if expected is None:
        raise HTTPException(403, f"state-changing endpoints are disabled: set {TOKEN_ENV} "
                                 "on the daemon to enable them")
    given = credentials.credentials if credentials else ""
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(401, "a valid bearer token is required",
                            headers={"WWW-Authenticate": "Bearer"})
