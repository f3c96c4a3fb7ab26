"""Field types for the config models: durations, ratios, URLs and names checked on the way in.

Each rejects a bad value with a message written for the person editing the YAML.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field

from probes import PROBES
from probes.dialects import DIALECTS
from service.config.errors import _known
from service.durations import parse_duration
from service.scoring.base import DEFAULT_SCALES  # the one list of scales
from service.scoring.factors_names import BOOLEAN_FACTS, FACT_NAMES, FACTORS

Duration = Annotated[float, BeforeValidator(parse_duration)]  # seconds
PositiveDuration = Annotated[float, BeforeValidator(parse_duration), Field(gt=0)]
NonNegativeDuration = Annotated[float, BeforeValidator(parse_duration), Field(ge=0)]
Ratio = Annotated[float, Field(ge=0, le=1)]
NonNegative = Annotated[float, Field(ge=0)]


def _availability(value: float) -> float:
    if not 0 < value <= 1:
        raise ValueError("must be a ratio in (0, 1]: 0.999 means 99.9%")
    return value


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"expected an http(s) URL, got {value!r}")
    return value.rstrip("/")  # dialects append paths such as /chat/completions


def _source_url(value: str) -> str:
    """A document's URL (a status page), fetched as written: ".../feed/" is not ".../feed"."""
    _http_url(value)
    return value


def _dialect(value: str) -> str:
    if value not in DIALECTS:
        raise ValueError(f"unknown api {value!r} (known: {_known(DIALECTS)})")
    return value


def _probe_kind(value: str) -> str:
    if value not in PROBES:
        raise ValueError(f"unknown probe kind {value!r} (known: {_known(PROBES)})")
    return value


def _factor(value: str) -> str:
    if value not in FACTORS:
        raise ValueError(f"unknown factor {value!r}")
    return value


def _scale_name(value: str) -> str:
    if value not in DEFAULT_SCALES:
        raise ValueError(f"factor {value!r} has no scale to override "
                         f"(scaled: {_known(DEFAULT_SCALES)})")
    return value


def _fact_name(value: str) -> str:
    if value not in FACT_NAMES:
        raise ValueError(f"unknown fact {value!r} (known: {_known(FACT_NAMES)})")
    return value


def _gate_fact(value: str) -> str:
    if value not in BOOLEAN_FACTS:
        if value in FACT_NAMES:
            raise ValueError(f"fact {value!r} is not yes/no, so it cannot be required")
        raise ValueError(f"unknown fact {value!r} (known: {_known(BOOLEAN_FACTS)})")
    return value


Availability = Annotated[float, AfterValidator(_availability)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]
SourceUrl = Annotated[str, AfterValidator(_source_url)]
DialectName = Annotated[str, AfterValidator(_dialect)]
ProbeKind = Annotated[str, AfterValidator(_probe_kind)]
FactorName = Annotated[str, AfterValidator(_factor)]
FactName = Annotated[str, AfterValidator(_fact_name)]
ScaleName = Annotated[str, AfterValidator(_scale_name)]
GateFact = Annotated[str, AfterValidator(_gate_fact)]
NonEmpty = Annotated[str, Field(min_length=1)]
