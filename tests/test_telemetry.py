"""OpenTelemetry export, in process: the config section, the GenAI names and attributes each
probe result is recorded under, the score gauges, and what happens when the SDK is missing.
The export over a real OTLP receiver: tests/test_telemetry_export.py."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as semconv_attrs
from opentelemetry.semconv._incubating.metrics import gen_ai_metrics as semconv_metrics

from probes import PROBES
from probes.dialects import DIALECTS
from service.catalog import builtin_catalog
from service.config import ConfigError, Settings, load_settings
from service.config.telemetry import HeadersError, parse_headers
from service.daemon import Daemon, StartupError
from service.store.models import ProbeResultRow
from service.telemetry import MISSING_EXTRA, configured_telemetry
from service.telemetry.genai import (
    ONE_REQUEST_KINDS,
    OPERATION_DURATION,
    OPERATION_NAMES,
    SECONDS_BUCKETS,
    SEVERAL_REQUEST_KINDS,
    TIME_TO_FIRST_CHUNK,
    TOKEN_BUCKETS,
    TOKEN_USAGE,
    WELL_KNOWN_PROVIDERS,
    provider_name,
)
from tests.clock import T0
from tests.otel import in_memory, named, row

CONFIG = """
builtin_catalog: false
database: sqlite:///{db}
providers: {{openai: {{}}, google: {{}}, acme: {{}}}}
candidates:
  openai/mini:
    provider: openai
    api: openai
    base_url: https://api.openai.com/v1
    model: gpt-4o-mini
  google/flash:
    provider: google
    api: gemini
    base_url: https://generativelanguage.googleapis.com/v1beta
    model: gemini-2.0-flash
  acme/local:
    provider: acme
    api: openai
    base_url: http://10.0.0.5:8000/v1
    model: llama
telemetry:
  otlp:
    endpoint: http://collector:4318
    every: 5s
    headers_env: OTLP_HEADERS
"""

TOKEN = "Bearer otlp-token-0451"  # what OTLP_HEADERS holds: must never be echoed


def settings_from(tmp_path: Path, text: str = CONFIG, environ: dict[str, str] | None = None
                  ) -> Settings:
    path = tmp_path / "factorwatch.yaml"
    path.write_text(text.format(db=tmp_path / "fw.db"))
    return load_settings(path, environ=environ or {})


def errors_of(tmp_path: Path, otlp: str) -> list[str]:
    path = tmp_path / "bad.yaml"
    path.write_text(f"builtin_catalog: false\ntelemetry:\n  otlp: {otlp}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    return caught.value.errors


RANKING = {
    "workload": "chat", "evaluated_at": T0.isoformat(), "leader": "openai/mini",
    "top_choice": "openai/mini",
    "ranking": [
        {"candidate": "openai/mini", "rank": 1, "composite": 4.2, "state": "serving",
         "gated": False, "factors": {"latency": {"score": 4.5, "source": "measured"},
                                     "cost": {"score": 3.9, "source": "static"},
                                     "compliance": {"score": None, "source": "static"}}},
        {"candidate": "acme/local", "rank": None, "composite": 3.0, "state": "down",
         "gated": True, "factors": {}},
    ],
}


# --- the config ----------------------------------------------------------------------------

def test_telemetry_is_off_unless_configured(tmp_path: Path) -> None:
    plain = CONFIG[:CONFIG.index("telemetry:")]
    settings = settings_from(tmp_path, plain)
    assert settings.telemetry.otlp is None
    assert configured_telemetry(settings, {}, list, None, "r") is None  # type: ignore[arg-type]


def test_otlp_section_reads_its_keys_and_the_headers_by_name(tmp_path: Path) -> None:
    otlp = settings_from(tmp_path).telemetry.otlp
    assert otlp is not None
    assert (otlp.endpoint, otlp.every, otlp.timeout) == ("http://collector:4318", 5.0, 10.0)
    assert otlp.metrics_url == "http://collector:4318/v1/metrics"
    assert otlp.resolve_headers({"OTLP_HEADERS": "Authorization=Bearer%20otlp-token-0451, "
                                                 "x-scope-orgid=team"}) == {
        "authorization": TOKEN, "x-scope-orgid": "team"}


def test_a_full_metrics_url_is_taken_as_it_is(tmp_path: Path) -> None:
    text = CONFIG.replace("http://collector:4318", "https://otlp.example/otlp/v1/metrics/")
    otlp = settings_from(tmp_path, text).telemetry.otlp
    assert otlp is not None and otlp.metrics_url == "https://otlp.example/otlp/v1/metrics"


def test_headers_come_from_a_file_too(tmp_path: Path) -> None:
    secret = tmp_path / "otlp-headers"
    secret.write_text("authorization=Bearer%20otlp-token-0451\n")
    text = CONFIG.replace("headers_env: OTLP_HEADERS", f"headers_file: {secret}")
    otlp = settings_from(tmp_path, text).telemetry.otlp
    assert otlp is not None and otlp.resolve_headers({}) == {"authorization": TOKEN}


@pytest.mark.parametrize(("otlp", "error"), [
    ("{endpoint: 'https://user:pw-0451@otlp.example'}",
     "telemetry.otlp.endpoint: give the collector's URL without user:password@, query or "
     "fragment; credentials go in headers_env or headers_file"),
    ("{endpoint: 'https://otlp.example?api-key=0451'}",
     "telemetry.otlp.endpoint: give the collector's URL without user:password@, query or "
     "fragment; credentials go in headers_env or headers_file"),
    ("{endpoint: 'grpc://otlp.example:4317'}",
     "telemetry.otlp.endpoint: expected an http(s) URL, got 'grpc://otlp.example:4317'"),
    ("{endpoint: 'http://c:4318', headers: {authorization: 'Bearer 0451'}}",
     "telemetry.otlp.headers: a secret never goes in the config; use headers_env or "
     "headers_file"),
    ("{endpoint: 'http://c:4318', headers_env: A, headers_file: /b}",
     "telemetry.otlp: set only one of headers_env and headers_file"),
    ("{endpoint: 'http://c:4318', every: 0s}", "telemetry.otlp.every: must be > 0"),
    ("{endpoint: 'http://c:4318', protocol: grpc}", "telemetry.otlp.protocol: unknown key"),
    ("{every: 5s}", "telemetry.otlp.endpoint: required"),
])
def test_bad_otlp_settings_are_refused_where_they_are(tmp_path: Path, otlp: str,
                                                      error: str) -> None:
    errors = errors_of(tmp_path, otlp)
    assert errors == [error]
    assert "0451" not in "\n".join(errors)


@pytest.mark.parametrize(("text", "error"), [
    ("authorization", "X: entry 1 is not name=value with a header name (expected e.g. "
                      "authorization=Bearer%20TOKEN,x-scope=team)"),
    ("a=1,bad header=0451", "X: entry 2 is not name=value with a header name (expected e.g. "
                            "authorization=Bearer%20TOKEN,x-scope=team)"),
    ("authorization=", "X: the value of header 'authorization' is empty or holds a line "
                       "break"),
    ("authorization=0451%0D%0Ax-evil=1", "X: the value of header 'authorization' is empty or "
                                         "holds a line break"),
    (" , ", "X: holds no header"),
])
def test_headers_that_cannot_be_read_are_refused_without_echoing_them(text: str,
                                                                      error: str) -> None:
    with pytest.raises(HeadersError) as caught:
        parse_headers(text, "X")
    assert str(caught.value) == error


def test_headers_not_set_stop_the_daemon_naming_the_variable_not_a_value(
        tmp_path: Path) -> None:
    with pytest.raises(StartupError) as caught:
        Daemon(settings_from(tmp_path), environ={})
    assert str(caught.value) == ("telemetry.otlp.headers_env: environment variable "
                                 "OTLP_HEADERS is not set, empty or unreadable")
    with pytest.raises(StartupError) as caught:
        Daemon(settings_from(tmp_path), environ={"OTLP_HEADERS": "token-0451"})
    assert "0451" not in str(caught.value) and "OTLP_HEADERS" in str(caught.value)


def test_without_the_sdk_the_daemon_says_which_extra_to_install(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # As if `pip install factorwatch` without [otel]: the SDK's modules cannot be imported.
    for name in [m for m in sys.modules if m == "service.telemetry.otlp"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "opentelemetry.exporter.otlp.proto.http.metric_exporter",
                        None)
    with pytest.raises(StartupError) as caught:
        Daemon(settings_from(tmp_path), environ={"OTLP_HEADERS": "a=b"})
    assert str(caught.value) == MISSING_EXTRA
    assert "pip install 'factorwatch[otel]'" in MISSING_EXTRA


# --- the names -----------------------------------------------------------------------------

def test_names_are_the_semantic_conventions_own() -> None:
    assert (OPERATION_DURATION, TIME_TO_FIRST_CHUNK, TOKEN_USAGE) == (
        semconv_metrics.GEN_AI_CLIENT_OPERATION_DURATION,
        semconv_metrics.GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK,
        semconv_metrics.GEN_AI_CLIENT_TOKEN_USAGE)
    known = {v.value for v in semconv_attrs.GenAiProviderNameValues}
    assert known >= WELL_KNOWN_PROVIDERS
    operations = {v.value for v in semconv_attrs.GenAiOperationNameValues}
    assert set(OPERATION_NAMES.values()) <= operations


def test_every_dialect_has_an_operation_name_and_every_kind_a_decision() -> None:
    assert set(OPERATION_NAMES) == set(DIALECTS)
    assert set(PROBES) == ONE_REQUEST_KINDS | SEVERAL_REQUEST_KINDS
    assert not ONE_REQUEST_KINDS & SEVERAL_REQUEST_KINDS


def test_catalog_providers_map_to_well_known_provider_names() -> None:
    catalog = builtin_catalog()
    names = {pid: provider_name(pid, "https://example.invalid") for pid in catalog["providers"]}
    assert names == {
        "openai": "openai", "anthropic": "anthropic", "deepseek": "deepseek", "groq": "groq",
        "mistral": "mistral_ai", "azure-openai": "azure.ai.openai",
        "aws-bedrock": "aws.bedrock", "google": "gcp.gen_ai", "google-ai-studio": "gcp.gemini",
        "vertex-claude": "gcp.vertex_ai",
        # Not among the conventions' well-known values: sent as they are.
        "together": "together", "openrouter": "openrouter", "self-hosted": "self-hosted"}
    assert provider_name("google", "https://generativelanguage.googleapis.com/v1beta") == \
        "gcp.gemini"
    assert provider_name("google", "https://us-central1-aiplatform.googleapis.com/v1") == \
        "gcp.vertex_ai"


# --- what a probe result becomes -----------------------------------------------------------

def test_each_result_is_recorded_under_the_genai_metrics(tmp_path: Path) -> None:
    telemetry, collect = in_memory(settings_from(tmp_path, environ={}), list)
    telemetry.record(row())
    telemetry.record(row("google/flash", ttft_seconds=0.5, total_seconds=1.5,
                         output_tokens=9, output_tokens_estimated=True))
    telemetry.record(row("acme/local", ok=False, error_class="timeout", ttft_seconds=None,
                         total_seconds=30.0, input_tokens=None, output_tokens=None))
    telemetry.record(row("openai/mini", kind="quality", total_seconds=7.0))  # not one request
    telemetry.record(row("gone/away"))  # no longer configured
    points = collect()

    durations = {p.attributes["factorwatch.candidate"]: p for p in named(points,
                                                                         OPERATION_DURATION)}
    assert set(durations) == {"openai/mini", "google/flash", "acme/local"}
    mini = durations["openai/mini"]
    assert (mini.kind, mini.unit, mini.count, mini.sum) == ("histogram", "s", 1, 0.9)
    assert mini.bounds == SECONDS_BUCKETS
    assert mini.attributes == {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini", "server.address": "api.openai.com",
        "server.port": 443, "factorwatch.candidate": "openai/mini",
        "factorwatch.region": "eu", "factorwatch.probe.kind": "latency"}
    flash = durations["google/flash"].attributes
    assert (flash["gen_ai.operation.name"], flash["gen_ai.provider.name"]) == (
        "generate_content", "gcp.gemini")
    failed = durations["acme/local"]
    assert failed.attributes["error.type"] == "timeout" and failed.sum == 30.0
    assert (failed.attributes["gen_ai.provider.name"], failed.attributes["server.port"]) == (
        "acme", 8000)
    assert all("error.type" not in p.attributes for p in points if p is not failed)

    first_chunk = {p.attributes["factorwatch.candidate"]: p.sum
                   for p in named(points, TIME_TO_FIRST_CHUNK)}
    assert first_chunk == {"openai/mini": 0.3, "google/flash": 0.5}
    assert {p.unit for p in named(points, TIME_TO_FIRST_CHUNK)} == {"s"}

    tokens = {(p.attributes["factorwatch.candidate"], p.attributes["gen_ai.token.type"]): p.sum
              for p in named(points, TOKEN_USAGE)}
    # An estimated output count is not usage the API reported: left out.
    assert tokens == {("openai/mini", "input"): 12, ("openai/mini", "output"): 16,
                      ("google/flash", "input"): 12}
    usage = named(points, TOKEN_USAGE)[0]
    assert (usage.unit, usage.bounds) == ("{token}", TOKEN_BUCKETS)
    assert {p.resource["service.name"] for p in points} == {"factorwatch"}
    assert {p.resource["service.instance.id"] for p in points} == {"replica-1"}
    telemetry.shutdown()


def test_scores_are_read_from_the_latest_rankings_once_per_export(tmp_path: Path) -> None:
    reads = []

    def read() -> list[dict[str, Any]]:
        reads.append(1)
        return [RANKING]

    telemetry, collect = in_memory(settings_from(tmp_path, environ={}), read)
    points = collect()
    assert len(reads) == 1  # five gauges, one read of the store
    collect()
    assert len(reads) == 2  # and each export reads afresh

    def values(name: str) -> dict[tuple[str, ...], float | None]:
        return {tuple(str(v) for _, v in sorted(p.attributes.items())): p.value
                for p in named(points, name)}

    assert values("factorwatch.composite_score") == {("acme/local", "chat"): 3.0,
                                                     ("openai/mini", "chat"): 4.2}
    assert values("factorwatch.rank") == {("openai/mini", "chat"): 1}
    assert values("factorwatch.top_choice") == {("acme/local", "chat"): 0,
                                                ("openai/mini", "chat"): 1}
    assert values("factorwatch.factor_score") == {("openai/mini", "cost", "chat"): 3.9,
                                                  ("openai/mini", "latency", "chat"): 4.5}
    states = values("factorwatch.candidate.state")
    assert states[("openai/mini", "serving")] == 1 and states[("openai/mini", "down")] == 0
    assert states[("acme/local", "down")] == 1 and len(states) == 10
    assert {p.unit for p in named(points, "factorwatch.composite_score")} == {"{score}"}
    assert {p.kind for p in points} == {"gauge"}
    telemetry.shutdown()


def test_an_unreadable_store_leaves_the_scores_out_and_says_so(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> list[dict[str, Any]]:
        raise ConnectionError("postgresql://fw:pw-0451@db/fw is gone")

    telemetry, collect = in_memory(settings_from(tmp_path, environ={}), broken)
    with caplog.at_level(logging.WARNING):
        telemetry.record(row())
        points = collect()
    assert {p.name for p in points} == {OPERATION_DURATION, TIME_TO_FIRST_CHUNK, TOKEN_USAGE}
    assert "telemetry: cannot read rankings from the store: ConnectionError" in caplog.text
    assert "0451" not in caplog.text
    telemetry.shutdown()


def test_nothing_is_recorded_before_start_or_after_shutdown(tmp_path: Path) -> None:
    telemetry, _ = in_memory(settings_from(tmp_path, environ={}), list)
    telemetry.shutdown()
    telemetry.record(row())  # no error, nothing kept
    written: list[ProbeResultRow] = []
    telemetry.recording(written.append)(row())
    assert len(written) == 1  # the write still happens
