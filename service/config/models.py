"""The config's shape: pydantic models for every section, and Settings at the top.

Build Settings with load_settings() (service.config.loading), which layers the built-in
catalog, the file and the environment before validating here.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from probes.pricing import LOCAL_FORMATS as LOCAL_PRICE_FORMATS
from probes.pricing import READERS as PRICE_READERS
from probes.status import READERS as STATUS_READERS
from service.config.alerts import AlertsConfig
from service.config.candidates import (
    CandidateConfig,
)
from service.config.contract import ContractConfig, tiers_above_commitment
from service.config.facts import Fact
from service.config.fields import (
    Availability,
    FactName,
    FactorName,
    GateFact,
    NonEmpty,
    NonNegative,
    PositiveDuration,
    Ratio,
    ScaleName,
    SourceUrl,
)
from service.config.latency import LatencyStateConfig
from service.config.retention import RetentionConfig, fit_default
from service.config.telemetry import TelemetryConfig
from service.scoring.scales import scale

ENV_PREFIX = "FACTORWATCH_"
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


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
