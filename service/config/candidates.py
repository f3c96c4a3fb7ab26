"""A candidate's config: its API and key, its price, and how each probe kind runs on it
(interval, options, adaptive pacing, reasoning caps), with the checks that tie them to what
the candidate's API can do."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from probes.dialects import DIALECTS
from probes.eval_set import load_eval_set
from probes.pricing import READERS as PRICE_READERS
from probes.pricing.model import Price
from probes.realtime import REALTIME_APIS
from probes.reasoning import Effort
from probes.tool_catalog import load_catalog
from service.config.facts import Fact
from service.config.fields import (
    DialectName,
    HttpUrl,
    NonEmpty,
    NonNegative,
    NonNegativeDuration,
    PositiveDuration,
    ProbeKind,
    Ratio,
)
from service.secrets import EnvName, read_secret


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _price_source_names() -> str:
    names = [repr(n) for n in ("static", *sorted(PRICE_READERS))]
    return f"{', '.join(names[:-1])} or {names[-1]}"


# Probe options, each read by one or two kinds (probes.PROBE_OPTIONS says which; checks.py
# refuses an option on a kind that does not read it).
_OPTIONS = ("prompt", "catalog", "eval_set", "sample", "context_tokens", "depths")


class AdaptiveSchedule(_Strict):
    """Adaptive probing (service/probing/adaptive.py): the interval moves between these."""

    min_every: PositiveDuration
    max_every: PositiveDuration

    @model_validator(mode="after")
    def _ordered(self) -> AdaptiveSchedule:
        if self.min_every > self.max_every:
            raise ValueError("min_every must not exceed max_every")
        return self


class ReasoningCap(_Strict):
    """How much a reasoning model may think in one probe (probes/reasoning.py); each API
    takes one or both (docs/config.md, Reasoning caps)."""

    effort: Effort | None = None
    budget_tokens: Annotated[int, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _something(self) -> ReasoningCap:
        if self.effort is None and self.budget_tokens is None:
            raise ValueError("set effort, budget_tokens or both")
        return self


class ProbeSchedule(_Strict):
    every: PositiveDuration
    adaptive: AdaptiveSchedule | None = None  # None: every `every`, as always
    timeout: PositiveDuration = 30.0
    max_tokens: Annotated[int, Field(ge=1)] = 16  # when unset, each kind has its own default
    prompt: NonEmpty | None = None  # latency, uptime
    catalog: str | None = None  # tools: a tool catalog file (JSON)
    eval_set: str | None = None  # quality: an eval set file (JSONL)
    sample: Annotated[int, Field(ge=1)] | None = None  # quality: items per run
    context_tokens: Annotated[int, Field(ge=100)] | None = None  # long_context
    depths: Annotated[list[Ratio], Field(min_length=1, max_length=16)] | None = None
    reasoning: ReasoningCap | None = None  # every kind: caps a reasoning model's thinking

    @field_validator("catalog")
    @classmethod
    def _catalog_readable(cls, path: str | None) -> str | None:
        if path is not None:
            load_catalog(path)  # a bad catalog fails here, not in every probe run
        return path

    @field_validator("eval_set")
    @classmethod
    def _eval_set_readable(cls, path: str | None) -> str | None:
        if path is not None:
            load_eval_set(path)
        return path

    @model_validator(mode="after")
    def _every_within_adaptive(self) -> ProbeSchedule:
        a = self.adaptive
        if a is not None and not a.min_every <= self.every <= a.max_every:
            raise ValueError(f"every ({self.every:g}s) must lie between adaptive.min_every "
                             f"({a.min_every:g}s) and adaptive.max_every ({a.max_every:g}s)")
        return self

    def probe_options(self) -> dict[str, Any]:
        """What the probe reads from Target.options: the options set, and max_tokens only
        when the config gives it (otherwise the kind's own default applies)."""
        out: dict[str, Any] = {k: getattr(self, k) for k in sorted(self.options_set())}
        if "max_tokens" in self.model_fields_set:
            out["max_tokens"] = self.max_tokens
        if self.reasoning is not None:
            out["reasoning"] = self.reasoning.model_dump(exclude_none=True)
        return out

    def options_set(self) -> set[str]:
        return {k for k in _OPTIONS if getattr(self, k) is not None}


class PriceConfig(_Strict):
    source: str = "static"  # static, or a price-list format (probes.pricing.READERS)
    key: str | None = None  # the entry in the price list; defaults to the candidate's model
    input_per_mtok: NonNegative | None = None  # USD per million tokens
    output_per_mtok: NonNegative | None = None
    cached_input_per_mtok: NonNegative | None = None
    audio_input_per_mtok: NonNegative | None = None  # audio tokens (realtime voice models)
    audio_output_per_mtok: NonNegative | None = None
    as_of: date | None = None
    # Price lists that price the candidate, in this order, when its `source` list has no
    # usable entry for it: format -> the entry in that list (service/watch/pricing.py).
    fallback: dict[str, NonEmpty] = {}

    @field_validator("source")
    @classmethod
    def _known_source(cls, value: str) -> str:
        if value != "static" and value not in PRICE_READERS:
            raise ValueError(f"must be one of {_price_source_names()}")
        return value

    @field_validator("fallback")
    @classmethod
    def _known_lists(cls, value: dict[str, str]) -> dict[str, str]:
        for fmt in value:
            if fmt not in PRICE_READERS:
                raise ValueError(f"unknown price list {fmt!r} (known: "
                                 f"{', '.join(sorted(PRICE_READERS))})")
        return value

    @model_validator(mode="after")
    def _static_needs_prices(self) -> PriceConfig:
        if self.source == "static" and (
            self.input_per_mtok is None or self.output_per_mtok is None
        ):
            raise ValueError("a static price needs input_per_mtok and output_per_mtok")
        return self

    def as_price(self, effective_at: datetime | None = None) -> Price | None:
        """The configured figures as a Price from `source` (figures go by name: any field
        named like a Price figure is one); None without an input and an output price."""
        if self.input_per_mtok is None or self.output_per_mtok is None:
            return None
        return Price.from_figures(self.model_dump(), self.source, effective_at)


class VoicePipeline(_Strict):
    """A text model spoken through speech-to-text and text-to-speech: what the pipeline adds
    before the first audio (STT finalisation + TTS first chunk), which is not measured."""

    overhead: NonNegativeDuration
    source: str | None = None


class CandidateConfig(_Strict):
    provider: str
    api: DialectName
    base_url: HttpUrl
    model: NonEmpty
    api_key_env: EnvName | None = None
    api_key_file: str | None = None
    price: PriceConfig | None = None
    probes: dict[ProbeKind, ProbeSchedule] = {}
    enabled: bool = True
    # A 1-5 task-quality score (e.g. from a public benchmark, with its source) used until
    # the candidate has eval-set results.
    quality_prior: Fact | None = None
    # Scored under `measure: first_audio` without voice probes (docs/scoring.md, Latency).
    voice_pipeline: VoicePipeline | None = None

    @field_validator("quality_prior")
    @classmethod
    def _prior_in_range(cls, prior: Fact | None) -> Fact | None:
        if prior is not None and (isinstance(prior.value, bool)
                                  or not isinstance(prior.value, int | float)
                                  or not 1 <= prior.value <= 5):
            raise ValueError("quality_prior must be a score from 1 to 5")
        return prior

    @model_validator(mode="after")
    def _one_key_source(self) -> CandidateConfig:
        if self.api_key_env and self.api_key_file:
            raise ValueError("set only one of api_key_env and api_key_file")
        return self

    @model_validator(mode="after")
    def _base_url_fits_api(self) -> CandidateConfig:
        """A dialect whose base_url must carry more than a host (Vertex: the project and
        location) checks it here, so a wrong one fails at load, not at every probe."""
        check = getattr(DIALECTS.get(self.api), "check_base_url", None)
        if check is not None:
            check(str(self.base_url))
        return self

    @model_validator(mode="after")
    def _voice_speaks_this_api(self) -> CandidateConfig:
        # The voice probe needs a realtime protocol (probes/realtime/): refused at load, not
        # failed at every probe as if the provider were at fault.
        if "voice" in self.probes and self.api not in REALTIME_APIS:
            raise ValueError(f"probes.voice: the voice probe speaks {', '.join(REALTIME_APIS)}"
                             f", not the {self.api} API")
        return self

    @model_validator(mode="after")
    def _reasoning_this_api_takes(self) -> CandidateConfig:
        takes: frozenset[str] = getattr(DIALECTS[self.api], "reasoning_keys", frozenset())
        for kind, schedule in sorted(self.probes.items()):
            cap = schedule.reasoning
            given = set() if cap is None else cap.model_dump(exclude_none=True).keys()
            if wrong := sorted(set(given) - takes):
                accepted = " or ".join(sorted(takes)) or "no reasoning cap"
                raise ValueError(f"probes.{kind}.reasoning: the {self.api} API takes "
                                 f"{accepted}, not {', '.join(wrong)}")
        return self

    def resolve_api_key(self, environ: Mapping[str, str] | None = None) -> str | None:
        return read_secret(self.api_key_env, self.api_key_file, environ)
