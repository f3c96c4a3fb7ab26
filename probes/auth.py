"""Credentials that sign a request just before it is sent, for APIs that take more than a
static key: a token refreshed before it expires, or a signature over the body (SigV4).

A dialect that needs them registers a factory under its name in CREDENTIALS; with_credentials
attaches the result to a Target once, where the daemon and `factorwatch probe` build their
targets. The exchange (probes/stream.py) asks them for headers before the clock of the probe
starts, over the exact body bytes it then sends, so a token fetch never counts as latency.

Credentials hold secrets: their repr must not show them, and a CredentialsError's message
must not either (it reaches logs and the database).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from probes.dialects import HttpRequest
    from probes.target import Target


class CredentialsError(Exception):
    """No usable credentials (none found, a token endpoint refused): the probe fails as
    `auth`, our configuration's problem, not the provider's outage."""


class Credentials(Protocol):
    async def authorize(self, request: HttpRequest, body: bytes) -> dict[str, str]:
        """Headers to add to `request`, whose body is exactly `body`; raises
        CredentialsError when there are none to give."""
        ...


# dialect name -> what makes a target's credentials (None: the static key is enough).
CredentialsFactory = Callable[["Target"], "Credentials | None"]
CREDENTIALS: dict[str, CredentialsFactory] = {}


def with_credentials(target: Target) -> Target:
    """`target` with the credentials its dialect asks for, made once and reused by every
    probe of that target (so a token is cached and refreshed, not fetched per probe)."""
    factory = CREDENTIALS.get(target.api)
    if factory is None or target.credentials is not None:
        return target
    return replace(target, credentials=factory(target))


def _bedrock(target: Target) -> Credentials | None:
    # Imported here: botocore loads only where a Bedrock candidate is probed.
    from probes.aws_auth import bedrock_credentials

    return bedrock_credentials(target)


CREDENTIALS["bedrock"] = CREDENTIALS["bedrock-invoke"] = _bedrock
