"""Settings: file + environment + built-in catalog, every error with its location."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from probes import PROBES
from probes.dialects import DIALECTS
from probes.pricing import READERS as PRICE_READERS
from probes.status import READERS as STATUS_READERS
from service.catalog import builtin_catalog
from service.config import ConfigError, Fact, Settings, check_config, load_settings
from service.durations import parse_duration
from service.scoring.factors_names import BOOLEAN_FACTS, FACT_NAMES, FACTORS

HERE = Path(__file__).parent
INVALID = HERE / "config_invalid"
VALID = HERE / "config_valid"

_KNOWN_PROVIDERS = ", ".join(sorted(builtin_catalog()["providers"]))
_KNOWN_FACTS = ", ".join(sorted(FACT_NAMES))
_KNOWN_YES_NO = ", ".join(sorted(BOOLEAN_FACTS))

# One file per rule, and the exact line it must produce. {path} is the file itself;
# registry lists are computed so that adding a dialect or probe kind does not break these.
INVALID_CASES: dict[str, str] = {
    "api_key_env_not_a_name": (
        "candidates.openai/gpt-6-sol.api_key_env: must name an environment variable "
        "(letters, digits, _)"
    ),
    "api_key_two_sources": (
        "candidates.openai/gpt-6-sol: set only one of api_key_env and api_key_file"
    ),
    "api_unknown": (
        "candidates.openai/gpt-6-sol.api: unknown api 'smoke-signals' "
        f"(known: {', '.join(sorted(DIALECTS))})"
    ),
    "base_url_not_http": (
        "candidates.openai/gpt-6-sol.base_url: expected an http(s) URL, got 'ftp://api.openai.com/v1'"
    ),
    "candidate_not_mapping": "candidates.x/y: expected a mapping, got 1",
    "confirmations_zero": "alerts.flip.confirmations: must be >= 1",
    "latency_exit_not_below_enter": (
        "scoring.states.latency: exit_ratio (2.5) must be below enter_ratio (2): the gap "
        "between them is the hysteresis"
    ),
    "database_url_with_password": (
        "database: the URL holds a password; set it in FACTORWATCH_DATABASE or "
        "FACTORWATCH_DATABASE_FILE instead"
    ),
    "duplicate_key": "{path}: invalid YAML at line 3, column 1: duplicate key 'listen'",
    "adaptive_min_over_max": (
        "candidates.openai/gpt-6-sol.probes.latency.adaptive: min_every must not exceed "
        "max_every"),
    "adaptive_every_outside": (
        "candidates.openai/gpt-6-sol.probes.latency: every (60s) must lie between "
        "adaptive.min_every (120s) and adaptive.max_every (600s)"),
    "duration_invalid": "candidates.openai/gpt-6-sol.probes.latency.every: invalid duration 'soon'",
    "duration_not_positive": "scoring.every: must be > 0",
    "fact_unknown": f"providers.openai.facts.hipaa: unknown fact 'hipaa' (known: {_KNOWN_FACTS})",
    "fact_wrong_type": "providers.openai.facts.hipaa_baa: expected true, false or null, got 'yes'",
    "factor_unknown": "workloads.w.weights.speed: unknown factor 'speed'",
    "gate_fact_not_yes_no": (
        "workloads.healthcare-voice.gates.require.0: fact 'founded_year' is not yes/no, "
        "so it cannot be required"
    ),
    "gate_fact_unknown": (
        "workloads.healthcare-voice.gates.require.0: unknown fact 'fda_cleared' "
        f"(known: {_KNOWN_YES_NO})"
    ),
    "key_unknown_in_candidate": "candidates.openai/gpt-6-sol.shoes: unknown key",
    "key_unknown_top_level": "scorin: unknown key",
    "listen_not_host_port": "listen: expected host:port such as 127.0.0.1:9464, got 'localhost'",
    "latency_measure_unknown": (
        "workloads.healthcare-voice.latency_budget.measure: must be one of "
        "'ttft', 'first_answer' or 'first_audio'"),
    "log_level_unknown": "log_level: must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL",
    "price_fallback_unknown": (
        "candidates.openai/gpt-6-sol.price.fallback: unknown price list 'csv' "
        f"(known: {', '.join(sorted(PRICE_READERS))})"
    ),
    "voice_pipeline_negative": (
        "candidates.openai/gpt-6-sol.voice_pipeline.overhead: invalid duration -0.2"),
    "price_negative": "candidates.openai/gpt-6-sol.price.input_per_mtok: must be >= 0",
    "price_source_unknown": (
        "candidates.openai/gpt-6-sol.price.source: must be one of "
        "'static', 'genai-prices', 'litellm', 'models-dev', 'openrouter' or 'yaml'"
    ),
    "price_static_incomplete": (
        "candidates.acme/small.price: a static price needs input_per_mtok and output_per_mtok"
    ),
    "pricing_format_twice": (
        "pricing.sources: more than one 'litellm' source: give one source per format"
    ),
    "pricing_format_unknown": (
        "pricing.sources.0.format: unknown price format 'csv' "
        f"(known: {', '.join(sorted(PRICE_READERS))})"
    ),
    "pricing_list_not_http": (
        "pricing.sources.0.url: a litellm list is fetched over http(s), got "
        "'/tmp/prices.json' (only a yaml file may be a local path)"
    ),
    "probe_kind_unknown": (
        "candidates.openai/gpt-6-sol.probes.telepathy: unknown probe kind 'telepathy' "
        f"(known: {', '.join(sorted(PROBES))})"
    ),
    "probe_budget_negative": "probe_budget.daily_usd_total: must be >= 0",
    "probe_catalog_missing": (
        "candidates.openai/gpt-6-sol.probes.tools.catalog: cannot read tool catalog "
        "'no-such-catalog.json': No such file or directory"
    ),
    "probe_depth_out_of_range": (
        "candidates.openai/gpt-6-sol.probes.long_context.depths.1: must be <= 1"
    ),
    "probe_eval_set_missing": (
        "candidates.openai/gpt-6-sol.probes.quality.eval_set: cannot read eval set "
        "'no-such-evals.jsonl': No such file or directory"
    ),
    "probe_option_wrong_kind": (
        "candidates.openai/gpt-6-sol.probes: latency does not read sample (quality does)"
    ),
    "probe_sample_zero": "candidates.openai/gpt-6-sol.probes.quality.sample: must be >= 1",
    "provider_unknown": (
        f"candidates.x/y.provider: unknown provider 'nope' (known: {_KNOWN_PROVIDERS})"
    ),
    "region_not_a_label": "region: must be 1-64 letters, digits, '.', '_' or '-'",
    "secret_api_key": (
        "candidates.openai/gpt-6-sol.api_key: a secret never goes in the config; "
        "use api_key_env or api_key_file"
    ),
    "secret_password": (
        "alerts.sinks.0.password: a secret never goes in the config; use an *_env or *_file "
        "setting, e.g. FACTORWATCH_DATABASE_FILE for the database URL"
    ),
    "secret_webhook_url": (
        "alerts.sinks.0.webhook_url: a secret never goes in the config; "
        "use webhook_url_env or webhook_url_file"
    ),
    "share_out_of_range": "workloads.consumer-chat.volume.cached_input_share: must be <= 1",
    "sla_not_a_ratio": (
        "providers.openai.sla.availability: must be a ratio in (0, 1]: 0.999 means 99.9%"
    ),
    "status_azure_without_components": (
        "providers.acme.status.0: an azure-status source covers every Azure service and "
        "region: name the ones to follow in `components` (e.g. [Azure OpenAI Service])"
    ),
    "status_format_unknown": (
        "providers.openai.status.0.format: unknown status format 'rss' "
        f"(known: {', '.join(sorted(STATUS_READERS))})"
    ),
    "status_google_cloud_without_products": (
        "providers.acme.status.0: a google-cloud source covers every Google Cloud product: "
        "name the ones to follow in `components` (e.g. [Vertex Gemini API])"
    ),
    "top_level_not_mapping": "{path}: top level must be a mapping, got a list",
    "volume_missing": "workloads.w.volume: required",
    "volume_not_a_number": (
        "workloads.consumer-chat.volume.requests_per_month: expected a number, got 'lots'"
    ),
    "webhook_two_sources": ("alerts.sinks.0: set only one of webhook_url_env and webhook_url_file"),
    "weight_negative": "workloads.consumer-chat.weights.latency: must be >= 0",
    "weights_all_zero": (
        "workloads.w.weights: all weights are zero; give at least one factor a positive weight"
    ),
    "yaml_syntax": "{path}: invalid YAML at line 3, column 7: mapping values are not allowed here",
}


def errors_of(path: Path | None, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={} if environ is None else environ)
    return caught.value.errors


def write(tmp_path: Path, text: str, name: str = "factorwatch.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- one invalid file per rule -------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(INVALID_CASES))
def test_invalid_file_reports_exactly_its_error(name: str) -> None:
    path = INVALID / f"{name}.yaml"
    assert errors_of(path) == [INVALID_CASES[name].format(path=path)]


def test_every_invalid_file_has_an_expected_error() -> None:
    assert sorted(p.stem for p in INVALID.glob("*.yaml")) == sorted(INVALID_CASES)


@pytest.mark.parametrize("path", sorted(VALID.glob("*.yaml")), ids=lambda p: p.stem)
def test_valid_file_loads(path: Path) -> None:
    ok, lines = check_config(path, environ={})
    assert ok, lines


# --- the built-in catalog ------------------------------------------------------------------


def test_builtin_catalog_alone_is_a_valid_config() -> None:
    settings = load_settings(None, environ={})
    assert sorted(settings.workloads) == [
        "agentic-tools",
        "batch-analytics",
        "consumer-chat",
        "healthcare-voice",
    ]
    assert len(settings.candidates) == 17
    # the cloud-hosted ones wait for the user's project or resource in base_url
    assert sorted(c for c, cand in settings.candidates.items() if not cand.enabled) == [
        "azure-openai/gpt-6-luna", "google/gemini-3.8-flash", "vertex-claude/claude-sonnet-5-5"]
    assert settings.database == "sqlite:///factorwatch.db"


def test_builtin_candidates_use_known_providers_dialects_and_price_lists() -> None:
    settings = load_settings(None, environ={})
    listed = {s.format for s in settings.pricing.sources}
    for cid, cand in settings.candidates.items():
        assert cid.startswith(cand.provider + "/"), cid
        assert cand.api in DIALECTS
        # The clouds' (disabled) use their credential chains, no key; Bedrock's keys go by
        # the variable AWS's SDKs read.
        if cand.enabled:
            assert cand.api_key_env and (cand.api_key_env.endswith("_API_KEY")
                                         or cand.api_key_env == "AWS_BEARER_TOKEN_BEDROCK")
        assert cand.price is not None and cand.price.source in listed, cid
        # The dated figures seed the price history until the list answers.
        assert cand.price.key and cand.price.as_of and cand.price.input_per_mtok is not None
        # realtime models answer no chat request: the voice probe alone, every 5 minutes
        assert (cand.probes["voice"].every == 900.0 if "voice" in cand.probes
                else cand.probes["latency"].every == 60.0), cid


def test_builtin_providers_cover_the_major_hosts_with_public_sources() -> None:
    settings = load_settings(None, environ={})
    assert {"openai", "anthropic", "google", "azure-openai", "aws-bedrock", "mistral",
            "deepseek", "groq", "together", "openrouter", "self-hosted"} <= set(
        settings.providers)
    for pid, provider in settings.providers.items():
        assert provider.name, pid
        for source in provider.status:
            assert source.url.startswith("https://"), (pid, source.url)
    assert all(s.url.startswith("https://") for s in settings.pricing.sources)


def test_builtin_price_matches_litellm_per_token_cost() -> None:
    price = load_settings(None, environ={}).candidates["openai/gpt-6-luna"].price
    assert price is not None
    assert (price.input_per_mtok, price.output_per_mtok, price.cached_input_per_mtok) == (
        pytest.approx(1e-07 * 1e6),
        pytest.approx(5e-07 * 1e6),
        pytest.approx(1e-08 * 1e6),
    )


def test_every_known_builtin_fact_has_a_source_and_a_date() -> None:
    for pid, provider in load_settings(None, environ={}).providers.items():
        for name, fact in provider.facts.items():
            if fact.value is not None:
                assert fact.source and fact.source.startswith("https://"), (pid, name)
                assert fact.as_of is not None, (pid, name)


def test_builtin_healthcare_voice_gates_on_a_baa() -> None:
    workload = load_settings(None, environ={}).workloads["healthcare-voice"]
    assert workload.gates.require == ["hipaa_baa"]
    assert workload.gates.min_availability == 0.995
    assert workload.latency_budget.ttft_p99 == 0.8
    assert set(workload.weights) == set(FACTORS)


# --- layering --------------------------------------------------------------------------------


def test_file_overrides_one_catalog_entry_by_naming_it(tmp_path: Path) -> None:
    path = write(tmp_path, "candidates:\n  openai/gpt-6-sol:\n    enabled: false\n")
    cand = load_settings(path, environ={}).candidates["openai/gpt-6-sol"]
    assert cand.enabled is False
    assert cand.model == "gpt-6-sol"  # the rest still comes from the catalog


def test_file_lists_replace_catalog_lists(tmp_path: Path) -> None:
    path = write(tmp_path, "providers:\n  openai:\n    status: []\n")
    assert load_settings(path, environ={}).providers["openai"].status == []


def test_null_in_file_removes_a_catalog_entry(tmp_path: Path) -> None:
    path = write(tmp_path, "workloads:\n  batch-analytics: null\n")
    assert "batch-analytics" not in load_settings(path, environ={}).workloads


def test_key_file_in_file_replaces_catalog_key_env(tmp_path: Path) -> None:
    path = write(tmp_path, "candidates:\n  openai/gpt-6-sol:\n    api_key_file: /run/key\n")
    cand = load_settings(path, environ={}).candidates["openai/gpt-6-sol"]
    assert (cand.api_key_env, cand.api_key_file) == (None, "/run/key")


def test_precedence_env_over_file_over_catalog_over_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, "scoring: {every: 10s}\nregion: eu-1\n")
    env = {"FACTORWATCH_SCORING__EVERY": "30s"}
    settings = load_settings(path, environ=env)
    assert settings.scoring.every == 30.0  # env beats file
    assert settings.region == "eu-1"  # file beats default
    assert settings.scoring.window == 3600.0  # default
    assert settings.candidates["openai/gpt-6-sol"].model == "gpt-6-sol"  # catalog


def test_builtin_catalog_false_drops_the_catalog(tmp_path: Path) -> None:
    assert load_settings(VALID / "no_catalog.yaml", environ={}).providers.keys() == {"local"}
    settings = load_settings(None, environ={"FACTORWATCH_BUILTIN_CATALOG": "false"})
    assert settings.candidates == {}


def test_env_ids_match_catalog_ids_case_insensitively() -> None:
    var = "FACTORWATCH_CANDIDATES__TOGETHER/OPENAI/GPT-OSS-120B__ENABLED"
    settings = load_settings(None, environ={var: "false"})
    assert settings.candidates["together/openai/gpt-oss-120b"].enabled is False
    assert len(settings.candidates) == 17


def test_env_json_value_sets_a_list() -> None:
    env = {"FACTORWATCH_ALERTS__SINKS": '[{"type": "slack", "webhook_url_env": "SLACK_URL"}]'}
    sinks = load_settings(None, environ=env).alerts.sinks
    assert [(s.type, s.webhook_url_env) for s in sinks] == [("slack", "SLACK_URL")]


def test_null_in_a_new_entry_means_the_default(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "workloads:\n  w:\n    volume: {requests_per_month: 1, input_tokens: 1, output_tokens: 1}\n"
        "    weights: {cost: 1}\n    latency_budget: null\n",
    )
    assert load_settings(path, environ={}).workloads["w"].latency_budget.ttft_p99 is None


def test_env_json_map_is_not_blamed_for_file_entries_beside_it(tmp_path: Path) -> None:
    path = write(tmp_path, "scoring: {every: soon}\n")
    env = {"FACTORWATCH_SCORING": '{"window": "2h"}'}
    assert errors_of(path, env) == ["scoring.every: invalid duration 'soon'"]


def test_unhashable_yaml_key_is_a_yaml_error(tmp_path: Path) -> None:
    path = write(tmp_path, "? [a, b]\n: 1\n")
    assert errors_of(path) == [f"{path}: invalid YAML at line 1, column 3: found unhashable key"]


def test_validation_does_not_read_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACTORWATCH_DATABASE", "postgresql+psycopg://h/db")
    assert load_settings(None, environ={}).database == "sqlite:///factorwatch.db"
    assert load_settings(None).database == "postgresql+psycopg://h/db"


# --- environment errors name the variable ----------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        pytest.param(
            {"FACTORWATCH_SCORING__EVERY": "x"},
            ["FACTORWATCH_SCORING__EVERY: invalid duration 'x'"],
            id="bad-duration",
        ),
        pytest.param(
            {"FACTORWATCH_SCORING__EVRY": "30s"},
            ["FACTORWATCH_SCORING__EVRY: unknown key"],
            id="unknown-nested-key",
        ),
        pytest.param(
            {"FACTORWATCH_NOPE": "1"}, ["FACTORWATCH_NOPE: unknown setting"], id="unknown-setting"
        ),
        pytest.param(
            {"FACTORWATCH_SCORING": "{every: 1}"},
            [
                "FACTORWATCH_SCORING: invalid JSON: Expecting property name enclosed in double "
                "quotes: line 1 column 2 (char 1)"
            ],
            id="invalid-json",
        ),
        pytest.param(
            {"FACTORWATCH_ALERTS__SINKS": '[{"type": 1}]'},
            ["FACTORWATCH_ALERTS__SINKS: 0.type: expected a string, got 1"],
            id="error-inside-json",
        ),
        pytest.param(
            {"FACTORWATCH_CANDIDATES__OPENAI/GPT-6-SOL__API_KEY": "sk-live-secret"},
            [
                "FACTORWATCH_CANDIDATES__OPENAI/GPT-6-SOL__API_KEY: a secret never goes in the "
                "config; use api_key_env or api_key_file"
            ],
            id="secret",
        ),
        pytest.param(
            {"FACTORWATCH_DATABASE_FILE": "/nonexistent/db-url"},
            [
                "FACTORWATCH_DATABASE_FILE: cannot read '/nonexistent/db-url': "
                "No such file or directory"
            ],
            id="missing-secret-file",
        ),
        pytest.param(
            {"FACTORWATCH_DATABASE": "sqlite:///a.db", "FACTORWATCH_DATABASE_FILE": "/x"},
            ["FACTORWATCH_DATABASE_FILE: FACTORWATCH_DATABASE is also set; use one of them"],
            id="both-value-and-file",
        ),
    ],
)
def test_env_error_names_the_variable(environ: dict[str, str], expected: list[str]) -> None:
    assert errors_of(None, environ) == expected


def test_config_env_var_is_not_a_setting() -> None:
    assert load_settings(None, environ={"FACTORWATCH_CONFIG": "/etc/fw.yaml"})


# --- secrets ---------------------------------------------------------------------------------


def test_database_file_secret_is_read_without_trailing_newline(tmp_path: Path) -> None:
    secret = write(tmp_path, "postgresql+psycopg://fw:pw@db/fw\n", name="db-url")
    settings = load_settings(None, environ={"FACTORWATCH_DATABASE_FILE": str(secret)})
    assert settings.database == "postgresql+psycopg://fw:pw@db/fw"


def test_error_from_a_file_secret_names_the_file_variable(tmp_path: Path) -> None:
    secret = write(tmp_path, "not-a-url\n", name="db-url")
    assert errors_of(None, {"FACTORWATCH_DATABASE_FILE": str(secret)}) == [
        "FACTORWATCH_DATABASE_FILE: expected a database URL such as sqlite:///factorwatch.db"
    ]


def test_api_key_file_setting_in_env_is_a_path_not_a_secret_file() -> None:
    var = "FACTORWATCH_CANDIDATES__OPENAI/GPT-6-SOL__API_KEY_FILE"
    cand = load_settings(None, environ={var: "/run/secrets/openai"}).candidates["openai/gpt-6-sol"]
    assert (cand.api_key_file, cand.api_key_env) == ("/run/secrets/openai", None)


@pytest.mark.parametrize(
    "name", ["secret_api_key", "secret_webhook_url", "database_url_with_password"]
)
def test_secret_values_never_appear_in_errors(name: str) -> None:
    text = "\n".join(errors_of(INVALID / f"{name}.yaml"))
    for secret in ("sk-not-a-real-key-0000", "XXXX", "hunter2"):
        assert secret not in text


def test_resolve_api_key_reads_env_or_file(tmp_path: Path) -> None:
    settings = load_settings(None, environ={})
    cand = settings.candidates["openai/gpt-6-sol"]
    assert cand.resolve_api_key({"OPENAI_API_KEY": "sk-1"}) == "sk-1"
    assert cand.resolve_api_key({}) is None
    key_file = write(tmp_path, "sk-2\n", name="key")
    from_file = cand.model_copy(update={"api_key_env": None, "api_key_file": str(key_file)})
    assert from_file.resolve_api_key({}) == "sk-2"
    missing = cand.model_copy(update={"api_key_env": None, "api_key_file": str(tmp_path / "no")})
    assert missing.resolve_api_key({}) is None


# --- whole-file behaviour --------------------------------------------------------------------


def test_every_error_is_listed_not_just_the_first(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "listen: nowhere\n"
        "scoring: {every: soon}\n"
        "candidates:\n  openai/gpt-6-sol: {provider: nope, api_key: sk-x}\n",
    )
    assert errors_of(path) == [
        "candidates.openai/gpt-6-sol.api_key: a secret never goes in the config; "
        "use api_key_env or api_key_file",
        "listen: expected host:port such as 127.0.0.1:9464, got 'nowhere'",
        "scoring.every: invalid duration 'soon'",
        "candidates.openai/gpt-6-sol.provider: unknown provider 'nope' "
        f"(known: {_KNOWN_PROVIDERS})",
    ]


# Pairs of independent errors where the first used to hide the second: each must be listed.
INDEPENDENT_ERRORS: dict[str, tuple[str, list[str]]] = {
    "retention-beside-another-section": (
        "listen: nowhere\nretention: {rankings_full: 10d, rankings: 5d}\n",
        ["listen: expected host:port such as 127.0.0.1:9464, got 'nowhere'",
         "retention.rankings_full: 10d is longer than retention.rankings (5d), past which "
         "saved rankings are deleted: give at most 5d, or 0s to keep every ranking until then"],
    ),
    "two-duplicate-keys": (
        "listen: a\nlisten: b\nscoring: {}\nscoring: {}\n",
        ["{path}: invalid YAML at line 2, column 1: duplicate key 'listen'",
         "{path}: invalid YAML at line 4, column 1: duplicate key 'scoring'"],
    ),
    "probe-option-beside-a-bad-probe": (
        "candidates:\n  openai/gpt-6-sol:\n    probes:\n"
        "      latency: {every: 1m, sample: 3}\n      uptime: {every: soon}\n",
        ["candidates.openai/gpt-6-sol.probes.uptime.every: invalid duration 'soon'",
         "candidates.openai/gpt-6-sol.probes: latency does not read sample (quality does)"],
    ),
    "two-probe-options-on-two-kinds": (
        "candidates:\n  openai/gpt-6-sol:\n    probes:\n"
        "      latency: {every: 1m, sample: 3}\n      uptime: {every: 1m, depths: [0.5]}\n",
        ["candidates.openai/gpt-6-sol.probes: latency does not read sample (quality does)",
         "candidates.openai/gpt-6-sol.probes: uptime does not read depths (long_context does)"],
    ),
    "price-format-twice-beside-a-bad-source": (
        "pricing:\n  sources:\n    - {format: litellm, url: https://a.example/p.json}\n"
        "    - {format: litellm, url: https://b.example/p.json}\n"
        "    - {format: litellm, url: https://c.example/p.json, every: soon}\n",
        ["pricing.sources.2.every: invalid duration 'soon'",
         "pricing.sources: more than one 'litellm' source: give one source per format"],
    ),
    "sink-names-twice-beside-a-bad-silence": (
        "alerts:\n  sinks:\n    - {type: slack, webhook_url_env: A}\n"
        "    - {type: slack, webhook_url_env: B}\n"
        "  silences: [{starts_at: never, ends_at: 2026-01-01T00:00:00Z}]\n",
        ["alerts.silences.0.starts_at: input should be a valid datetime or date, input is "
         "too short",
         "alerts: two sinks are named 'slack': give each a distinct name"],
    ),
}


@pytest.mark.parametrize("case", sorted(INDEPENDENT_ERRORS))
def test_an_error_never_hides_an_independent_one(tmp_path: Path, case: str) -> None:
    text, expected = INDEPENDENT_ERRORS[case]
    path = write(tmp_path, text)
    assert errors_of(path) == [line.format(path=path) for line in expected]


def test_a_missing_file_does_not_hide_an_environment_error(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    assert errors_of(path, {"FACTORWATCH_NOPE": "1"}) == [
        f"{path}: file not found", "FACTORWATCH_NOPE: unknown setting"]


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    assert errors_of(path) == [f"{path}: file not found"]


def test_check_config_summarises_or_lists_errors() -> None:
    assert check_config(VALID / "no_catalog.yaml", environ={}) == (
        True,
        ["ok: 1 provider, 1 candidate, 1 workload"],
    )
    assert check_config(VALID / "empty.yaml", environ={}) == (
        True,
        ["ok: 13 providers, 17 candidates, 4 workloads"],
    )
    ok, lines = check_config(INVALID / "factor_unknown.yaml", environ={})
    assert (ok, lines) == (False, ["workloads.w.weights.speed: unknown factor 'speed'"])


def test_settings_is_a_pydantic_settings_class() -> None:
    assert Settings.model_config["env_prefix"] == "FACTORWATCH_"
    assert Settings.model_config["env_nested_delimiter"] == "__"


# --- small pieces ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(True, Fact(value=True), id="bare-bool"),
        pytest.param(2015, Fact(value=2015), id="bare-int"),
        pytest.param(None, Fact(value=None), id="bare-null-is-unknown"),
        pytest.param(
            {"value": "supervised", "source": "https://x", "as_of": "2026-01-02"},
            Fact(value="supervised", source="https://x", as_of=date(2026, 1, 2)),
            id="mapping",
        ),
    ],
)
def test_fact_accepts_bare_scalar_or_mapping(raw: object, expected: Fact) -> None:
    assert Fact.model_validate(raw) == expected


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("60s", 60.0),
        ("15m", 900.0),
        ("6h", 21600.0),
        ("1d", 86400.0),
        ("0.8s", 0.8),
        ("250ms", 0.25),
        ("1h30m", 5400.0),
        ("30", 30.0),
        (45, 45.0),
        (1.5, 1.5),
        (" 2m ", 120.0),
    ],
)
def test_parse_duration(text: object, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("soon", "invalid duration 'soon'"),
        ("", "invalid duration ''"),
        ("5 minutes", "invalid duration '5 minutes'"),
        ("-5s", "invalid duration '-5s'"),
        ("1w", "invalid duration '1w'"),
        (-1, "invalid duration -1"),
        (True, "invalid duration True"),
        (None, "invalid duration None"),
    ],
)
def test_parse_duration_refuses(value: object, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration(value)
    assert str(caught.value) == message


@pytest.mark.parametrize(("api", "ok"), [("openai", True), ("gemini", True),
                                         ("azure-openai", True), ("anthropic", False),
                                         ("bedrock", False), ("openai-responses", False)])
def test_a_voice_probe_needs_an_api_with_a_realtime_protocol(tmp_path: Path, api: str,
                                                             ok: bool) -> None:
    path = tmp_path / "factorwatch.yaml"
    path.write_text(f"""
candidates:
  lab/talker:
    provider: openai
    api: {api}
    base_url: https://api.example.com/v1
    model: talker
    probes:
      voice: {{every: 5m}}
""", encoding="utf-8")
    if ok:
        assert "voice" in load_settings(path, environ={}).candidates["lab/talker"].probes
        return
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    assert (f"candidates.lab/talker: probes.voice: the voice probe speaks openai, "
            f"azure-openai, gemini, not the {api} API") in str(caught.value)
