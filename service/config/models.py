"""The config's shape: pydantic models for every section, and Settings at the top.

Build Settings with load_settings() (service.config.loading), which layers the built-in
catalog, the file and the environment before validating here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from probes.dialects import DIALECTS
from probes.eval_set import load_eval_set
from probes.pricing import LOCAL_FORMATS as LOCAL_PRICE_FORMATS
from probes.pricing import READERS as PRICE_READERS
from probes.pricing.model import Price
from probes.realtime import REALTIME_APIS
from probes.reasoning import Effort
from probes.status import READERS as STATUS_READERS
from probes.tool_catalog import load_catalog
from service.config.alerts import AlertsConfig
from service.config.contract import ContractConfig, tiers_above_commitment
from service.config.fields import (
    Availability,
    DialectName,
    FactName,
    FactorName,
    GateFact,
    HttpUrl,
    NonEmpty,
    NonNegative,
    NonNegativeDuration,
    PositiveDuration,
    ProbeKind,
    Ratio,
    ScaleName,
    SourceUrl,
)
from service.config.latency import LatencyStateConfig
from service.config.retention import RetentionConfig, fit_default
from service.config.telemetry import TelemetryConfig
from service.scoring.scales import scale
from service.secrets import EnvName, read_secret

ENV_PREFIX = "FACTORWATCH_"
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Fact(_Strict):
    value: bool | int | float | str | None = None
    source: str | None = None
    as_of: date | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        # In YAML a fact may be a bare scalar: `hipaa_baa: true` means {value: true}.
        return data if isinstance(data, dict) else {"value": data}

    @field_validator("value", mode="before")
    @classmethod
    def _scalar(cls, value: Any) -> Any:
        if isinstance(value, date):
            return value.isoformat()
        if value is not None and not isinstance(value, bool | int | float | str):
            raise ValueError("a fact value must be true, false, a number, a string or null")
        return value


def _price_source_names() -> str:
    names = [repr(n) for n in ("static", *sorted(PRICE_READERS))]
    return f"{', '.join(names[:-1])} or {names[-1]}"


class StatusSource(_Strict):
    url: SourceUrl
    components: list[str] = []
    format: str | None = None  # None: detected from the response
    every: PositiveDuration = 120.0
    stale_after: PositiveDuration = 1800.0

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str | None) -> str | None:
        if value is not None and value not in STATUS_READERS:
            raise ValueError(f"unknown status format {value!r} (known: "
                             f"{', '.join(sorted(STATUS_READERS))})")
        return value

    @model_validator(mode="after")
    def _products_named(self) -> StatusSource:
        if self.format == "google-cloud" and not self.components:
            raise ValueError("a google-cloud source covers every Google Cloud product: name "
                             "the ones to follow in `components` (e.g. [Vertex Gemini API])")
        if self.format == "azure-status" and not self.components:
            raise ValueError("an azure-status source covers every Azure service and region: "
                             "name the ones to follow in `components` (e.g. [Azure OpenAI "
                             "Service])")
        return self


class SlaConfig(_Strict):
    availability: Availability
    source: str | None = None
    contract: ContractConfig | None = None  # the terms credits follow (docs/sla.md)

    @model_validator(mode="after")
    def _tiers_below_commitment(self) -> SlaConfig:
        problem = self.contract and tiers_above_commitment(self.availability, self.contract)
        if problem:
            raise ValueError(problem)
        return self


class ProviderConfig(_Strict):
    name: str | None = None
    status: list[StatusSource] = []
    sla: SlaConfig | None = None
    facts: dict[FactName, Fact] = {}


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


class Volume(_Strict):
    requests_per_month: NonNegative
    input_tokens: NonNegative
    output_tokens: NonNegative
    cached_input_share: Ratio = 0.0
    batch_share: Ratio = 0.0


class LatencyBudget(_Strict):
    # The p99 budget of the timing `measure` names (the key keeps its first name).
    ttft_p99: PositiveDuration | None = None
    # What the latency factor scores (docs/scoring.md, Latency): time to first token, to
    # first answer token (reasoning models), or to first non-silent audio (voice).
    measure: Literal["ttft", "first_answer", "first_audio"] = "ttft"


class Gates(_Strict):
    require: list[GateFact] = []
    min_availability: Availability | None = None
    max_throttled_share: Ratio | None = None  # 429s over answered probes, scoring window
    max_ttft_p99: PositiveDuration | None = None
    max_monthly_cost_usd: NonNegative | None = None


class ScaleConfig(_Strict):
    """Anchors [quantity, score] of a factor's scale; see docs/scoring.md for each unit."""

    anchors: list[tuple[float, float]]
    log: bool = False

    @model_validator(mode="after")
    def _valid_scale(self) -> ScaleConfig:
        scale(self.anchors, log=self.log)  # the scale's own rules, not a copy
        return self


class WorkloadConfig(_Strict):
    description: str = ""
    volume: Volume
    latency_budget: LatencyBudget = LatencyBudget()
    weights: dict[FactorName, NonNegative]
    gates: Gates = Gates()
    context_tokens: Annotated[int, Field(ge=1)] | None = None  # operating context length
    scales: dict[ScaleName, ScaleConfig] = {}
    # How a weighted factor without evidence counts (docs/scoring.md): worst, prior, drop.
    missing: Literal["worst", "prior", "drop"] = "worst"
    # Stability points a provider that declares none of its outages loses (docs/scoring.md,
    # status-page honesty); 0, the default, leaves stability as it was.
    honesty_penalty: Annotated[float, Field(ge=0, le=2)] = 0.0

    @field_validator("weights")
    @classmethod
    def _some_weight(cls, weights: dict[str, float]) -> dict[str, float]:
        if not any(weights.values()):
            raise ValueError("all weights are zero; give at least one factor a positive weight")
        return weights


class PricingSource(_Strict):
    format: NonEmpty
    url: NonEmpty  # http(s) URL or a local path (the yaml format)
    every: PositiveDuration = 21600.0

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if value not in PRICE_READERS:
            raise ValueError(f"unknown price format {value!r} (known: "
                             f"{', '.join(sorted(PRICE_READERS))})")
        return value

    @field_validator("url")
    @classmethod
    def _url_for_format(cls, url: str, info: ValidationInfo) -> str:
        fmt = info.data.get("format")  # absent when the format itself was refused
        if fmt and fmt not in LOCAL_PRICE_FORMATS and not url.startswith(("http://",
                                                                           "https://")):
            raise ValueError(f"a {fmt} list is fetched over http(s), got {url!r} "
                             "(only a yaml file may be a local path)")
        return url


class PricingConfig(_Strict):
    sources: list[PricingSource] = []  # one per format: checks.py


class ModelListsConfig(_Strict):
    """The lease holder's read of each provider's model list (`model_retired` events)."""

    enabled: bool = True
    every: PositiveDuration = 86400.0


class ProbeBudgetConfig(_Strict):
    """Daily probe spend caps in USD (UTC days); a probe that would run past one is skipped."""

    daily_usd_per_candidate: NonNegative | None = None
    daily_usd_total: NonNegative | None = None


class StatesConfig(_Strict):
    """When a candidate counts as down, throttled or degraded (service/scoring/states.py)."""

    window: PositiveDuration = 300.0
    min_probes: Annotated[int, Field(ge=1)] = 3
    down_failure_share: Annotated[float, Field(gt=0, le=1)] = 0.9
    degraded_failure_share: Annotated[float, Field(gt=0, le=1)] = 0.2
    throttled_share: Annotated[float, Field(gt=0, le=1)] = 0.5
    # Regions that must judge a candidate down for it to be down (service/scoring/quorum.py).
    quorum: Annotated[int, Field(ge=1)] = 1
    latency: LatencyStateConfig = LatencyStateConfig()  # degraded against its own baseline

    @model_validator(mode="after")
    def _degraded_below_down(self) -> StatesConfig:
        if self.degraded_failure_share > self.down_failure_share:
            raise ValueError("degraded_failure_share must not exceed down_failure_share")
        return self


class ScoringConfig(_Strict):
    every: PositiveDuration = 60.0
    window: PositiveDuration = 3600.0
    rate_window: PositiveDuration = 7 * 86400.0  # tools, long-context and quality results
    confidence: Annotated[float, Field(ge=0.5, lt=1)] = 0.95  # the level of every interval
    states: StatesConfig = StatesConfig()


class ClusterConfig(_Strict):
    """Several replicas on one database (service/cluster.py)."""

    replica_id: NonEmpty | None = None  # default: hostname-pid
    lease_ttl: PositiveDuration = 15.0


class Settings(BaseSettings):
    """Build it with load_settings(), which layers catalog, file and environment."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", case_sensitive=False
    )

    database: str = "sqlite:///factorwatch.db"
    listen: str = "127.0.0.1:9464"
    log_level: str = "INFO"
    region: str = "local"
    builtin_catalog: bool = True
    providers: dict[str, ProviderConfig] = {}
    candidates: dict[str, CandidateConfig] = {}
    pricing: PricingConfig = PricingConfig()
    model_lists: ModelListsConfig = ModelListsConfig()
    workloads: dict[str, WorkloadConfig] = {}
    alerts: AlertsConfig = AlertsConfig()
    scoring: ScoringConfig = ScoringConfig()
    cluster: ClusterConfig = ClusterConfig()
    probe_budget: ProbeBudgetConfig = ProbeBudgetConfig()
    retention: RetentionConfig = RetentionConfig()
    telemetry: TelemetryConfig = TelemetryConfig()  # OpenTelemetry export: off unless set

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # load_settings() layers catalog, file and the given environment itself; validating
        # must not read os.environ behind its back.
        return (init_settings,)

    @model_validator(mode="after")
    def _retention_default(self) -> Settings:
        fit_default(self)
        return self

    @field_validator("database")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if "://" not in value:  # never echo it: it may hold a password
            raise ValueError("expected a database URL such as sqlite:///factorwatch.db")
        return value

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or int(port) > 65535:
            raise ValueError(f"expected host:port such as 127.0.0.1:9464, got {value!r}")
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        if value.upper() not in _LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(_LOG_LEVELS)}")
        return value.upper()

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        # It is a metric label: keep it short and plain.
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", value):
            raise ValueError("must be 1-64 letters, digits, '.', '_' or '-'")
        return value
