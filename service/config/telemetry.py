"""The `telemetry` section: optional OpenTelemetry export of what factorwatch measures and
scores (service/telemetry/, docs/metrics.md, OpenTelemetry). Absent, nothing is exported.

Headers (an exporter's auth token) are secrets: the config names the environment variable
or file that holds them, in the OTEL_EXPORTER_OTLP_HEADERS format, never the values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from service.config.fields import HttpUrl, PositiveDuration
from service.secrets import EnvName, read_secret

METRICS_PATH = "/v1/metrics"  # OTLP/HTTP's path for metrics under the endpoint
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP header name (RFC 9110)


class HeadersError(ValueError):
    """The headers cannot be read; the message names where, never what they hold."""


def parse_headers(text: str, where: str) -> dict[str, str]:
    """`name=value` pairs separated by commas, values URL-encoded (the format of
    OTEL_EXPORTER_OTLP_HEADERS). Errors say which entry is wrong, never its text."""
    headers: dict[str, str] = {}
    for number, entry in enumerate(text.strip().split(","), start=1):
        if not entry.strip():
            continue
        name, sep, value = entry.partition("=")
        name, value = name.strip(), unquote(value.strip())
        if not sep or not _TOKEN.fullmatch(name):
            raise HeadersError(f"{where}: entry {number} is not name=value with a header name "
                               "(expected e.g. authorization=Bearer%20TOKEN,x-scope=team)")
        if not value or any(c in value for c in "\r\n\0"):
            raise HeadersError(f"{where}: the value of header {name!r} is empty or holds a "
                               "line break")
        headers[name.lower()] = value
    if not headers:
        raise HeadersError(f"{where}: holds no header")
    return headers


class OtlpConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    endpoint: HttpUrl  # OTLP/HTTP base URL, as OTEL_EXPORTER_OTLP_ENDPOINT
    every: PositiveDuration = 60.0
    timeout: PositiveDuration = 10.0
    headers_env: EnvName | None = None
    headers_file: str | None = None

    @field_validator("endpoint")
    @classmethod
    def _no_credentials(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.username or parts.password or parts.query or parts.fragment:
            # Never echo it: it may hold a token.
            raise ValueError("give the collector's URL without user:password@, query or "
                             "fragment; credentials go in headers_env or headers_file")
        return value

    @model_validator(mode="after")
    def _one_headers_source(self) -> OtlpConfig:
        if self.headers_env and self.headers_file:
            raise ValueError("set only one of headers_env and headers_file")
        return self

    @property
    def metrics_url(self) -> str:
        """Where metrics are POSTed: the endpoint plus /v1/metrics, unless it ends so already."""
        if self.endpoint.endswith(METRICS_PATH):
            return self.endpoint
        return self.endpoint + METRICS_PATH

    def resolve_headers(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """The headers to send, read from headers_env or headers_file ({} when neither is
        set); HeadersError when one is set but cannot be read."""
        if not self.headers_env and not self.headers_file:
            return {}
        where = (f"telemetry.otlp.headers_env: environment variable {self.headers_env}"
                 if self.headers_env else f"telemetry.otlp.headers_file: {self.headers_file}")
        text = read_secret(self.headers_env, self.headers_file, environ)
        if text is None:
            raise HeadersError(f"{where} is not set, empty or unreadable")
        return parse_headers(text, where)


class TelemetryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    otlp: OtlpConfig | None = None  # None: no OpenTelemetry export (Prometheus only)
