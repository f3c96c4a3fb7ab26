"""A fake token issuer for the clouds' credential chains, on the simulator's port, so that
google-auth and azure-identity run their real code against it offline:

    POST /oauth2/token   Google's OAuth 2.0 token endpoint, JWT-bearer grant: what a
                         service-account key file's `token_uri` points at. The signed
                         assertion is checked against the public key given (when given):
                         its signature, its audience and its cloud-platform scope.
    GET  /msi/token      Azure App Service's managed-identity endpoint (IDENTITY_ENDPOINT,
                         with IDENTITY_HEADER sent back as X-IDENTITY-HEADER), which
                         azure-identity's DefaultAzureCredential uses when those are set.
                         It speaks plain http on localhost, unlike an Entra authority host
                         (azure-identity refuses a non-https one).

Tokens live `lifetime_seconds`; the provider routes accept only tokens issued here and not
expired (SimServer.tokens). `refuse` makes both endpoints refuse, as a revoked key would.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any
from urllib.parse import parse_qsl

from service.sim.http11 import Request

GOOGLE_TOKEN_PATH = "/oauth2/token"
AZURE_MSI_PATH = "/msi/token"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
# The audience google-auth signs into a service account's assertion, whatever token_uri is
# (Google's own token endpoint checks for it).
GOOGLE_AUDIENCE = "https://oauth2.googleapis.com/token"
AZURE_RESOURCE = "https://cognitiveservices.azure.com"


class TokenIssuer:
    def __init__(self, lifetime_seconds: float = 3600.0, identity_header: str = "sim-identity",
                 google_public_key_pem: bytes | None = None) -> None:
        self.lifetime_seconds = lifetime_seconds
        self.identity_header = identity_header
        self.google_public_key_pem = google_public_key_pem
        self.refuse = False
        self.delay_seconds = 0.0  # before each answer: a slow token endpoint
        self.issued: dict[str, float] = {}  # token -> expires at (Unix seconds)

    def handles(self, method: str, path: str) -> bool:
        return (method, path) in (("POST", GOOGLE_TOKEN_PATH), ("GET", AZURE_MSI_PATH))

    def valid(self, token: str | None) -> bool:
        expires_at = self.issued.get(token or "")
        return expires_at is not None and time.time() < expires_at

    def answer(self, request: Request) -> tuple[int, dict[str, Any]]:
        path, _, query = request.path.partition("?")
        if path == GOOGLE_TOKEN_PATH:
            return self._google(request)
        return self._azure(request, dict(parse_qsl(query)))

    def _issue(self, prefix: str) -> tuple[str, float]:
        token = prefix + secrets.token_urlsafe(24)
        expires_at = time.time() + self.lifetime_seconds
        self.issued[token] = expires_at
        return token, expires_at

    def _google(self, request: Request) -> tuple[int, dict[str, Any]]:
        form = dict(parse_qsl(request.body.decode()))
        problem = ("the key was revoked" if self.refuse
                   else _assertion_problem(form, self.google_public_key_pem))
        if problem:
            return 400, {"error": "invalid_grant", "error_description": problem}
        token, _ = self._issue("ya29.sim-")
        return 200, {"access_token": token, "expires_in": int(self.lifetime_seconds),
                     "token_type": "Bearer"}

    def _azure(self, request: Request, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if self.refuse or request.headers.get("x-identity-header") != self.identity_header:
            return 401, {"statusCode": 401, "message": "Unauthorized: identity refused"}
        if query.get("resource") != AZURE_RESOURCE or not query.get("api-version"):
            return 400, {"statusCode": 400, "message": "resource or api-version missing"}
        token, expires_at = self._issue("eyJ0eXAi.sim-")
        return 200, {"access_token": token, "expires_on": str(int(expires_at)),
                     "resource": AZURE_RESOURCE, "token_type": "Bearer"}


def _assertion_problem(form: dict[str, str], public_key_pem: bytes | None) -> str | None:
    """Why a JWT-bearer grant is refused; None when it is good."""
    if form.get("grant_type") != JWT_BEARER:
        return f"unsupported grant_type {form.get('grant_type')!r}"
    parts = form.get("assertion", "").split(".")
    if len(parts) != 3:
        return "the assertion is not a JWT"
    claims = json.loads(_unb64(parts[1]))
    if CLOUD_PLATFORM not in str(claims.get("scope", "")).split():
        return "the assertion does not ask for the cloud-platform scope"
    if claims.get("aud") != GOOGLE_AUDIENCE:
        return f"the assertion's audience is {claims.get('aud')!r}, not {GOOGLE_AUDIENCE!r}"
    if public_key_pem is not None and not _signed(parts, public_key_pem):
        return "Invalid JWT Signature."
    return None


def _signed(parts: list[str], public_key_pem: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = serialization.load_pem_public_key(public_key_pem)
    assert isinstance(key, rsa.RSAPublicKey)
    try:
        key.verify(_unb64(parts[2]), f"{parts[0]}.{parts[1]}".encode(), padding.PKCS1v15(),
                   hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
