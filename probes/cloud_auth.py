"""Bearer tokens from the clouds' own credential chains: Google Application Default
Credentials for Vertex AI, Microsoft Entra ID for Azure (probes/auth.py, Credentials).

Both libraries are blocking, so a token is fetched in a worker thread (never on the event
loop, where it would stall every other probe's timing), cached, and fetched again
REFRESH_MARGIN_SECONDS before it expires (at half its life for a token shorter-lived than
twice that). One fetch at a time per target: probes that need a token while it is being
fetched wait for that fetch. The exchange asks for the token before the probe's clock
starts, so a refresh never counts as latency.

A token is a secret: it is never logged, and a failure's message is the library's
explanation, scrubbed and shortened, never the token or a key.

Which targets get which (docs/clouds.md, Credentials):
- `vertex`, `vertex-anthropic`: always Google ADC (google.auth.default, cloud-platform
  scope: GOOGLE_APPLICATION_CREDENTIALS, workload identity, gcloud's user credentials, the
  metadata server).
- `azure-openai`, `azure-ai-inference`: the api key when the candidate configures one,
  else Entra ID through azure-identity's DefaultAzureCredential.

The libraries are the `gcp` and `azure` extras (pyproject.toml); without them the probe
fails as `auth` with a message naming the extra to install.
"""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from probes.auth import CREDENTIALS, CredentialsError
from probes.redact import scrub

if TYPE_CHECKING:
    from probes.dialects import HttpRequest
    from probes.target import Target

REFRESH_MARGIN_SECONDS = 300.0
UNKNOWN_LIFETIME_SECONDS = 60.0  # a token that does not say when it expires: kept a minute
GOOGLE_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
AZURE_SCOPE = "https://cognitiveservices.azure.com/.default"
MESSAGE_CHARS = 300


class RefreshingToken:
    """A bearer token fetched by a blocking `_fetch`, cached until shortly before expiry."""

    what = "token"  # names the source in failure messages

    def __init__(self, clock: Any = time.time) -> None:
        self._clock = clock
        self._token: str | None = None
        self._fetched_at = 0.0
        self._expires_at = 0.0
        self._lock = threading.Lock()  # a thread lock: fetches run in worker threads
        self.fetches = 0  # how many tokens were fetched (tests and logs read it)

    def __repr__(self) -> str:  # never the token
        return f"{type(self).__name__}(fetches={self.fetches})"

    async def authorize(self, request: HttpRequest, body: bytes) -> dict[str, str]:
        token = self._token if self._fresh() else await asyncio.to_thread(self._refresh)
        return {"Authorization": f"Bearer {token}"}

    def _fresh(self) -> bool:
        if self._token is None:
            return False
        lifetime = self._expires_at - self._fetched_at
        margin = min(REFRESH_MARGIN_SECONDS, lifetime / 2)
        return self._clock() < self._expires_at - margin

    def _refresh(self) -> str:
        with self._lock:
            if self._fresh() and self._token is not None:  # another probe just fetched it
                return self._token
            fetched_at = self._clock()
            try:
                token, expires_at = self._fetch()
            except CredentialsError:
                raise
            except Exception as exc:  # the library's own error types vary by version
                # `from None`: the chained traceback could carry the request and its secrets
                raise CredentialsError(self._failure(exc)) from None
            self._token, self._fetched_at = token, fetched_at
            self._expires_at = (expires_at if expires_at is not None
                                else fetched_at + REFRESH_MARGIN_SECONDS
                                + UNKNOWN_LIFETIME_SECONDS)
            self.fetches += 1
            return token

    def _fetch(self) -> tuple[str, float | None]:
        """A new token and when it expires (Unix seconds, None: not said)."""
        raise NotImplementedError

    def _failure(self, exc: Exception) -> str:
        # google-auth's RefreshError carries (message, response JSON): the message says it
        said = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
        text = " ".join(said.split()) or "(no message)"
        secrets = [self._token]
        return scrub(f"{self.what}: {type(exc).__name__}: {text}", secrets)[:MESSAGE_CHARS]


class GoogleADC(RefreshingToken):
    """Google Application Default Credentials, for the cloud-platform scope."""

    what = "Google Application Default Credentials"

    def __init__(self, clock: Any = time.time) -> None:
        super().__init__(clock)
        self._credentials: Any = None

    def _fetch(self) -> tuple[str, float | None]:
        try:
            import google.auth
            import google.auth.transport.requests
        except ImportError:
            raise CredentialsError(
                "google-auth is not installed: pip install 'factorwatch[gcp]'") from None
        if self._credentials is None:  # reads the environment: once per target
            self._credentials, _project = google.auth.default(scopes=[GOOGLE_SCOPE])
        self._credentials.refresh(google.auth.transport.requests.Request())
        expiry = self._credentials.expiry  # naive UTC, as google-auth keeps it
        expires_at = expiry.replace(tzinfo=UTC).timestamp() if isinstance(expiry, datetime) \
            else None
        return str(self._credentials.token), expires_at


class AzureEntra(RefreshingToken):
    """A Microsoft Entra ID token from azure-identity's DefaultAzureCredential (environment,
    workload identity, managed identity, Azure CLI, ...), for Azure AI services.

    The synchronous credential in a worker thread rather than azure.identity.aio: the async
    one needs aiohttp as its transport, a second HTTP stack for one request an hour."""

    what = "Azure Entra ID (DefaultAzureCredential)"

    def __init__(self, clock: Any = time.time) -> None:
        super().__init__(clock)
        self._credential: Any = None

    def _fetch(self) -> tuple[str, float | None]:
        try:
            from azure.identity import DefaultAzureCredential
        except ImportError:
            raise CredentialsError(
                "azure-identity is not installed: pip install 'factorwatch[azure]'") from None
        if self._credential is None:
            self._credential = DefaultAzureCredential()
        access = self._credential.get_token(AZURE_SCOPE)
        return str(access.token), float(access.expires_on)


def google_credentials(target: Target) -> GoogleADC:
    return GoogleADC()


def azure_credentials(target: Target) -> AzureEntra | None:
    """The rule for Azure: the api key if the candidate configures one, else Entra ID."""
    return None if target.api_key else AzureEntra()


for _name in ("vertex", "vertex-anthropic"):
    CREDENTIALS[_name] = google_credentials
for _name in ("azure-openai", "azure-ai-inference"):
    CREDENTIALS[_name] = azure_credentials
