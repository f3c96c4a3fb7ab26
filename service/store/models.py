"""SQLModel tables: the one place the schema is defined (Alembic migrations follow it).

Times are stored as timezone-aware UTC. Secrets are never stored: a candidate row keeps
the name of the environment variable that holds its key, not the key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from service.store.types import UTCDateTime, utcnow


def _ts(index: bool = False) -> Any:
    return Field(default_factory=utcnow,
                 sa_column=Column(UTCDateTime(), index=index, nullable=False))


class Candidate(SQLModel, table=True):
    """A model behind an API that factorwatch probes and ranks (mirrors the config)."""

    id: str = Field(primary_key=True, max_length=200)  # e.g. "openai/gpt-6-luna"
    provider: str = Field(max_length=100, index=True)
    api: str = Field(max_length=40)
    base_url: str = Field(max_length=500)
    model: str = Field(max_length=200)
    enabled: bool = True
    updated_at: datetime = _ts()


class ProbeResultRow(SQLModel, table=True):
    __tablename__ = "probe_result"
    __table_args__ = (Index("ix_probe_result_candidate_kind_time", "candidate_id", "kind",
                            "started_at"),)

    id: int | None = Field(default=None, primary_key=True)
    candidate_id: str = Field(max_length=200)
    kind: str = Field(max_length=40)
    region: str = Field(default="local", max_length=60)
    started_at: datetime = _ts()
    ok: bool
    error_class: str | None = Field(default=None, max_length=40)
    error_message: str | None = Field(default=None, max_length=500)
    http_status: int | None = None
    connect_seconds: float | None = None
    ttft_seconds: float | None = None
    total_seconds: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    output_tokens_estimated: bool = False
    output_tokens_per_second: float | None = None
    retry_after_seconds: float | None = None
    cost_usd: float | None = None
    # The voice probe's (probes/voice.py, docs/architecture.md#voice); None for other kinds.
    first_audio_seconds: float | None = None
    first_speech_seconds: float | None = None
    first_transcript_seconds: float | None = None
    realtime_factor: float | None = None
    playback_stall_seconds: float | None = None
    audio_input_tokens: int | None = None
    audio_output_tokens: int | None = None
    extra: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Reasoning models (migration 0013; null in rows saved before it)
    first_answer_seconds: float | None = None
    reasoning_tokens: int | None = None
    reasoning_tokens_estimated: bool | None = None
    answer_tokens_per_second: float | None = None


class Incident(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("provider", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=100, index=True)
    external_id: str = Field(max_length=200)
    title: str = Field(max_length=500)
    status: str = Field(max_length=40)  # investigating | identified | monitoring | resolved
    impact: str | None = Field(default=None, max_length=40)
    components: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    started_at: datetime = _ts()
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    updates: list[dict[str, Any]] = Field(default_factory=list,
                                          sa_column=Column(JSON, nullable=False))
    is_maintenance: bool = False


class PricePoint(SQLModel, table=True):
    """A candidate's price as it was from `effective_at` on (USD per million tokens)."""

    __tablename__ = "price_point"
    __table_args__ = (Index("ix_price_point_candidate_time", "candidate_id", "effective_at"),)

    id: int | None = Field(default=None, primary_key=True)
    candidate_id: str = Field(max_length=200)
    source: str = Field(max_length=40)  # static | litellm | openrouter | yaml
    effective_at: datetime = _ts()
    # A column per figure of probes/pricing/model.py Price, by the same name (converted in
    # service/prices/rows.py; tests/test_price_value.py checks that none is missing).
    input_per_mtok: float
    output_per_mtok: float
    cached_input_per_mtok: float | None = None
    cache_write_per_mtok: float | None = None
    batch_input_per_mtok: float | None = None
    batch_output_per_mtok: float | None = None
    audio_input_per_mtok: float | None = None
    audio_output_per_mtok: float | None = None
    # [{above_input_tokens, input_per_mtok, output_per_mtok, cached_input_per_mtok}, ...]
    tiers: list[dict[str, Any]] = Field(default_factory=list,
                                        sa_column=Column(JSON, nullable=False))


class Evaluation(SQLModel, table=True):
    """One scoring pass for one workload; its ranking entries and factor scores hang off it."""

    id: int | None = Field(default=None, primary_key=True)
    workload: str = Field(max_length=100)
    evaluated_at: datetime = _ts(index=True)
    leader: str | None = Field(default=None, max_length=200)
    confidence: float | None = None  # the level of the intervals saved with it
    missing_policy: str | None = Field(default=None, max_length=20)


class RankingEntry(SQLModel, table=True):
    __tablename__ = "ranking_entry"

    id: int | None = Field(default=None, primary_key=True)
    evaluation_id: int = Field(foreign_key="evaluation.id", index=True)
    candidate_id: str = Field(max_length=200)
    rank: int | None = None  # None when gated out
    composite: float | None = None
    partial: bool = False  # some weighted factors had no evidence
    gated: bool = False
    gate_reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Gates that could not be checked for lack of evidence (e.g. no probes yet).
    notes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    composite_low: float | None = None
    composite_high: float | None = None
    tied: bool | None = None  # statistically tied with the entry ranked just above
    state: str | None = Field(default=None, max_length=20)  # serving | degraded | ...
    state_reason: str | None = Field(default=None, max_length=300)


class FactorScoreRow(SQLModel, table=True):
    __tablename__ = "factor_score"

    id: int | None = Field(default=None, primary_key=True)
    evaluation_id: int = Field(foreign_key="evaluation.id", index=True)
    candidate_id: str = Field(max_length=200)
    factor: str = Field(max_length=40)
    score: float | None = None
    weight: float
    source: str = Field(max_length=20)  # measured | static | missing
    evidence: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    low: float | None = None  # the score's interval; null when the score is missing
    high: float | None = None


class Event(SQLModel, table=True):
    """The outbox: a change of state, saved with the state that caused it, sent once."""

    id: int | None = Field(default=None, primary_key=True)
    type: str = Field(max_length=60, index=True)
    severity: str = Field(default="info", max_length=20)
    dedup_key: str = Field(max_length=300, unique=True)  # stable id of the event
    created_at: datetime = _ts(index=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", max_length=20)  # pending | claimed | sent | failed
    claimed_by: str | None = Field(default=None, max_length=100)
    claimed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    attempts: int = 0


class AlertDelivery(SQLModel, table=True):
    """One event to one sink (service/alerts/outbox.py): claimed, sent, retried apart.

    `batch` names the message the row was first claimed into; it is also the idempotency key
    of that message, so a retry or a repeat after a crash sends the same events with it.
    """

    __tablename__ = "alert_delivery"
    __table_args__ = (UniqueConstraint("event_id", "sink"),
                      Index("ix_alert_delivery_due", "sink", "status", "next_attempt_at"),
                      Index("ix_alert_delivery_repeat", "sink", "repeat_key"))

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True)
    sink: str = Field(max_length=64)
    # pending | claimed | sent | failed | silenced | superseded | expired
    status: str = Field(default="pending", max_length=20)
    batch: str | None = Field(default=None, max_length=64, index=True)
    repeat_key: str = Field(max_length=300)
    attempts: int = 0
    next_attempt_at: datetime = _ts()
    claimed_by: str | None = Field(default=None, max_length=100)
    claimed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    last_error: str | None = Field(default=None, max_length=300)  # never holds a URL


class AlertCondition(SQLModel, table=True):
    """A condition that fired (SLA burn, exhausted budget, failing probes) and has not cleared.

    Its row and its firing event are saved together; clearing deletes the row and saves the
    resolution. The key is the primary key, so two replicas cannot open it twice.
    """

    __tablename__ = "alert_condition"

    key: str = Field(primary_key=True, max_length=300)  # e.g. sla_breach|candidate=a/b
    type: str = Field(max_length=60)
    subject: str = Field(max_length=200)
    severity: str = Field(max_length=20)
    opened_at: datetime = _ts()
    updated_at: datetime = _ts()
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class AlertSilence(SQLModel, table=True):
    """A silence added through the API: matching events are recorded, not sent."""

    __tablename__ = "alert_silence"

    id: int | None = Field(default=None, primary_key=True)
    # {types, workloads, providers, candidates}: each empty list matches everything
    matchers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    starts_at: datetime = _ts()
    ends_at: datetime = _ts(index=True)
    comment: str = Field(default="", max_length=500)
    created_at: datetime = _ts()


class ProbeRollup(SQLModel, table=True):
    """Probe outcomes of one candidate, kind and region in one UTC hour.

    Maintained in the same transaction as the probe results it sums, so it never disagrees
    with them. Long windows (30 days of availability) are summed from here instead of from
    raw rows; `ttft` and `speed` are mergeable quantile sketches (service/scoring/sketch.py).
    """

    __tablename__ = "probe_rollup"
    __table_args__ = (Index("ix_probe_rollup_bucket", "bucket_start"),)

    candidate_id: str = Field(primary_key=True, max_length=200)
    kind: str = Field(primary_key=True, max_length=40)
    region: str = Field(primary_key=True, max_length=60)
    context_tokens: int = Field(default=0, primary_key=True)  # long_context probes' size
    bucket_start: datetime = Field(sa_column=Column(UTCDateTime(), primary_key=True))
    ok: int = 0
    failed: int = 0  # failures that count against availability
    throttled: int = 0  # 429
    config_errors: int = 0  # 401/403
    judged_successes: int = 0  # valid tool calls, facts recalled, eval items passed
    judged_trials: int = 0
    judged_runs: int = 0  # probe runs that carried a judgement
    ttft: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    speed: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # time to first answer token (null in hours rolled up before migration 0013)
    first_answer: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


class TopChoice(SQLModel, table=True):
    """A workload's announced top choice, and the challenger working its way up to it."""

    __tablename__ = "top_choice"

    workload: str = Field(primary_key=True, max_length=100)
    candidate: str | None = Field(default=None, max_length=200)
    since: datetime = _ts()
    challenger: str | None = Field(default=None, max_length=200)
    streak: int = 0  # consecutive evaluations the challenger has led by the margin
    updated_at: datetime = _ts()


class Replica(SQLModel, table=True):
    """A running factorwatch process: its membership lease, renewed by heartbeats.

    A replica whose heartbeat is older than the lease TTL is gone; the live replicas of a
    region share that region's probe work (service/cluster.py).
    """

    id: str = Field(primary_key=True, max_length=120)
    region: str = Field(max_length=60)
    heartbeat_at: datetime = _ts()
    started_at: datetime = _ts()


class Lease(SQLModel, table=True):
    """A named lease held by one replica until it expires (e.g. scoring and alerting)."""

    name: str = Field(primary_key=True, max_length=60)
    holder: str = Field(max_length=120)
    expires_at: datetime = _ts()
    acquired_at: datetime = _ts()


class ListedModelRow(SQLModel, table=True):
    """A model seen on a list the lease holder watches: a provider's model list
    (`models:<provider>`, every model on it) or a price list (`prices:<format>`, the entries
    candidates read). Kept so a restart remembers what was there; `gone_at` is set when it
    is missing from the list, and cleared if it comes back (service/discovery/listings.py).
    """

    __tablename__ = "listed_model"

    list_name: str = Field(primary_key=True, max_length=120)
    model: str = Field(primary_key=True, max_length=300)
    first_seen_at: datetime = _ts()
    last_seen_at: datetime = _ts()
    gone_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class SlaStatementRow(SQLModel, table=True):
    """A provider's monthly statement under its SLA contract (service/sla/statements.py):
    the whole document in `body`; `final` once the month has closed and been computed."""

    __tablename__ = "sla_statement"

    provider: str = Field(primary_key=True, max_length=100)
    month: str = Field(primary_key=True, max_length=7)  # YYYY-MM, UTC
    final: bool = False
    computed_at: datetime = _ts()
    body: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
class ProviderHonestyRow(SQLModel, table=True):
    """A provider's status-page honesty over the last 30 days, as the lease holder's hourly
    job last judged it (service/outages/honesty_job.py): what the overview page shows and
    the stability factor reads when a workload sets `honesty_penalty` (docs/scoring.md).
    One row per provider, replaced."""

    __tablename__ = "provider_honesty"

    provider: str = Field(primary_key=True, max_length=100)
    computed_at: datetime = _ts()
    window_days: int
    outages: int  # observed outages judged (pending ones left out)
    undeclared: int
    # Quantiles over declared incidents (docs/alerts.md); None when there was none.
    median_delay_seconds: float | None = None
    p90_delay_seconds: float | None = None
    median_lag_seconds: float | None = None
    p90_lag_seconds: float | None = None
    early_resolutions: int = 0
    incidents_observed: int = 0  # declared incidents by observed impact
    incidents_no_impact: int = 0
    incidents_unknown: int = 0
