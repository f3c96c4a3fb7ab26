"""AWS credentials for the Bedrock dialects: botocore's standard chain, and SigV4 over the
exact body bytes the exchange then sends.

The chain is botocore's own, in its order: environment variables (AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), AWS_PROFILE / the shared credentials and config
files (profiles, assume-role, SSO), web identity (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE, as
Kubernetes service accounts get them), container and instance metadata. It is resolved once
per target; temporary credentials are refreshed by botocore before they expire.

The region is the base_url's (bedrock-runtime.REGION.amazonaws.com), else botocore's
configured one (AWS_DEFAULT_REGION, the profile's `region`). A candidate with a Bedrock API
key (api_key_env / api_key_file) sends it as a bearer token and gets no AWS credentials.
"""

from __future__ import annotations

import asyncio
import re
import threading
from typing import TYPE_CHECKING, Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import BotoCoreError, ClientError
from botocore.session import Session

from probes.auth import CredentialsError

if TYPE_CHECKING:
    from probes.dialects import HttpRequest
    from probes.target import Target

SERVICE = "bedrock"  # the signing name of bedrock-runtime
_REGION = re.compile(r"^bedrock-runtime(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com$")
_SIGNATURE_HEADERS = ("Authorization", "X-Amz-Date", "X-Amz-Security-Token")


def region_of(base_url: str) -> str | None:
    """The region named by a Bedrock runtime endpoint, None for any other host."""
    host = re.sub(r"^[a-z]+://", "", base_url).split("/", 1)[0].split(":", 1)[0]
    found = _REGION.match(host.lower())
    return found.group(1) if found else None


def bedrock_credentials(target: Target) -> AwsSigV4 | None:
    """What `probes.auth.CREDENTIALS` makes for a Bedrock target: none with an API key."""
    return None if target.api_key else AwsSigV4(region_of(target.base_url))


class AwsSigV4:
    """Signs each request with SigV4 for `bedrock`, with credentials from botocore's chain."""

    def __init__(self, region: str | None) -> None:
        self._region = region
        self._credentials: Any = None  # botocore Credentials, resolved on first use
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never the keys
        return f"AwsSigV4(region={self._region!r})"

    async def authorize(self, request: HttpRequest, body: bytes) -> dict[str, str]:
        # In a thread: resolving or refreshing may call STS or instance metadata.
        return await asyncio.to_thread(self._sign, request, body)

    def _sign(self, request: HttpRequest, body: bytes) -> dict[str, str]:
        try:
            credentials, region = self._resolve()
            frozen = credentials.get_frozen_credentials()  # refreshes when near expiry
        except (BotoCoreError, ClientError) as exc:  # their messages name no secret
            raise CredentialsError(f"AWS credentials: {type(exc).__name__}: {exc}") from None
        signed = AWSRequest(method=request.method, url=request.url, data=body,
                            headers={k: v for k, v in request.headers.items()
                                     if k.lower() != "authorization"})
        SigV4Auth(frozen, SERVICE, region).add_auth(signed)
        return {k: signed.headers[k] for k in _SIGNATURE_HEADERS if k in signed.headers}

    def _resolve(self) -> tuple[Any, str]:
        with self._lock:
            if self._credentials is None:
                session = Session()
                region = self._region or session.get_config_variable("region")
                if not region:
                    raise CredentialsError(
                        "no AWS region: base_url is not bedrock-runtime.REGION.amazonaws.com "
                        "and AWS_DEFAULT_REGION (or the profile's region) is not set")
                credentials = session.get_credentials()
                if credentials is None:
                    raise CredentialsError(
                        "no AWS credentials found (environment, shared credentials or config "
                        "file, web identity, container or instance metadata)")
                self._credentials, self._region = credentials, region
            assert self._region is not None  # set together with the credentials
            return self._credentials, self._region
