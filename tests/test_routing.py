"""Routing documents, pure: who may serve, in what order, the version, each rendering, no
secret in any of them, LiteLLM's own Router reading the fragment, the event's words and the
position metric."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from service.config import Settings, load_settings
from service.rankings.metrics import StoreCollector
from service.rankings.routing import (
    FORMATS,
    Routing,
    build_routing,
    change_payload,
    etag,
    etag_matches,
    litellm_deployment,
    render,
    render_json,
    render_litellm,
    render_openrouter,
)
from service.scoring.states import MONITOR_OUTAGE, STATES
from service.sim.openai_server import SimModel, SimServer
from service.sinks.events import AlertEvent
from service.sinks.render import headline, reasons
from tests.clock import T0

WORKLOAD = "chat"
KEY_VALUE = "sk-fw-routing-KEYVALUE-0123456789"  # set in the environment: must never show
FILE_KEY = "file-fw-routing-FILEKEY-0123456789"
URL_PASSWORD = "pw-fw-routing-URLPASSWORD"
URL_QUERY_KEY = "q-fw-routing-QUERYKEY"
SECRETS = (KEY_VALUE, FILE_KEY, URL_PASSWORD, URL_QUERY_KEY)

CONFIG = """
builtin_catalog: false
database: sqlite:///{tmp}/unused.db
providers:
  openai: {{}}
  anthropic: {{}}
  self-hosted: {{}}
  azure-openai: {{}}
  openrouter: {{}}
candidates:
  openai/mini:
    provider: openai
    api: openai
    base_url: https://api.openai.com/v1
    model: gpt-4o-mini
    api_key_env: FW_ROUTING_TEST_KEY
  anthropic/sonnet:
    provider: anthropic
    api: anthropic
    base_url: https://api.anthropic.com/v1
    model: claude-sonnet-4-5
    api_key_file: {tmp}/anthropic-key
  self-hosted/gem:
    provider: self-hosted
    api: gemini
    base_url: https://gemini.internal.example/v1beta
    model: gemini-2.5-flash
  azure-openai/chat:
    provider: azure-openai
    api: azure-openai
    base_url: https://res.openai.azure.com?api-version=2025-01-01-preview
    model: chat-deployment
    api_key_env: FW_ROUTING_TEST_KEY
  openai/behind-proxy:
    provider: openai
    api: openai
    base_url: https://user:{password}@proxy.example/v1?key={query_key}&api-version=x
    model: gpt-4.1
  openrouter/mini:
    provider: openrouter
    api: openai
    base_url: https://openrouter.ai/api/v1
    model: openai/gpt-4o-mini
    api_key_env: FW_ROUTING_TEST_KEY
workloads:
  chat:
    volume: {{requests_per_month: 1000, input_tokens: 100, output_tokens: 100}}
    weights: {{cost: 1}}
"""


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("FW_ROUTING_TEST_KEY", KEY_VALUE)
    (tmp_path / "anthropic-key").write_text(FILE_KEY)
    path = tmp_path / "fw.yaml"
    path.write_text(CONFIG.format(tmp=tmp_path, password=URL_PASSWORD,
                                  query_key=URL_QUERY_KEY))
    return load_settings(path, environ={})


def entry(candidate: str, rank: int | None, state: str = "serving", *, tied: bool = False,
          gated: bool = False, reason: str = "") -> dict[str, Any]:
    return {"candidate": candidate, "rank": rank, "tied": tied, "state": state,
            "state_reason": reason, "gated": gated,
            "gate_reasons": ["requires hipaa_baa: not offered"] if gated else []}


# Every configured candidate, and one of each kind that may not serve.
ENTRIES = [
    entry("openai/mini", 1), entry("anthropic/sonnet", 2, "degraded", tied=True),
    entry("self-hosted/gem", 3), entry("azure-openai/chat", 4),
    entry("openai/behind-proxy", 5), entry("openrouter/mini", 6),
    entry("x/unknown", 7, "unknown", reason="no probe ran in the last 5 min"),
    entry("x/down", 8, "down", reason="5 of 5 probes failed"),
    entry("x/throttled", 9, "throttled", reason="4 of 5 probes answered 429"),
    entry("x/gated", None, gated=True),
]


def routing(entries: list[dict[str, Any]] = ENTRIES, evaluation_id: int = 7) -> Routing:
    return build_routing(WORKLOAD, entries, evaluation_id, T0)


# --- who may serve, in what order --------------------------------------------------------------

def test_only_ranked_serving_or_degraded_candidates_in_rank_order() -> None:
    r = routing(list(reversed(ENTRIES)))  # the entries' order does not matter, the rank does
    assert [(x.candidate, x.position, x.tied) for x in r.order] == [
        ("openai/mini", 1, False), ("anthropic/sonnet", 2, True), ("self-hosted/gem", 3, False),
        ("azure-openai/chat", 4, False), ("openai/behind-proxy", 5, False),
        ("openrouter/mini", 6, False)]
    assert {e.candidate: e.reason for e in r.excluded} == {
        "x/unknown": "unknown: no probe ran in the last 5 min",
        "x/down": "down: 5 of 5 probes failed",
        "x/throttled": "throttled: 4 of 5 probes answered 429",
        "x/gated": "gated: requires hipaa_baa: not offered"}


def test_in_a_monitor_outage_the_candidates_it_could_not_reach_keep_their_place() -> None:
    outage = MONITOR_OUTAGE.format(n=2)
    r = routing([entry("a/x", 1, "unknown", reason=outage),
                 entry("b/y", 2, "unknown", reason=outage),
                 entry("c/never", 3, "unknown", reason="no probe ran in the last 5 min")])
    assert [x.candidate for x in r.order] == ["a/x", "b/y"]
    assert [e.candidate for e in r.excluded] == ["c/never"]


ENTRY = st.fixed_dictionaries({
    "state": st.sampled_from(STATES), "gated": st.booleans(), "tied": st.booleans(),
    "ranked": st.booleans(), "outage": st.booleans()})


@given(st.lists(ENTRY, max_size=12))
def test_property_order_follows_rank_and_never_holds_what_may_not_serve(
        drawn: list[dict[str, Any]]) -> None:
    entries, rank = [], 0
    for i, d in enumerate(drawn):
        ranked = d["ranked"] and not d["gated"]
        rank += ranked
        entries.append(entry(f"c/{i}", rank if ranked else None, d["state"], tied=d["tied"],
                             gated=d["gated"],
                             reason=MONITOR_OUTAGE.format(n=2) if d["outage"] else "r"))
    r = routing(entries)
    by_id = {e["candidate"]: e for e in entries}
    assert [x.position for x in r.order] == list(range(1, len(r.order) + 1))
    ranks = [x.rank for x in r.order]
    assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks)
    for x in r.order:
        e = by_id[x.candidate]
        assert not e["gated"] and e["rank"] is not None
        assert e["state"] in ("serving", "degraded") or (
            e["state"] == "unknown" and e["state_reason"].startswith("every candidate"))
        assert x.tied == e["tied"]
    assert {x.candidate for x in r.order} | {e.candidate for e in r.excluded} == set(by_id)
    assert len(r.order) + len(r.excluded) == len(entries)


def test_version_moves_exactly_with_the_order_the_set_and_the_tie_marks() -> None:
    base = [entry("a/x", 1), entry("b/y", 2), entry("c/z", 3, "down")]
    v = routing(base).version
    # Another evaluation, other states that still serve, other reasons: the same order.
    same = [entry("a/x", 1, "degraded"), entry("b/y", 2), entry("c/z", 3, "throttled")]
    assert build_routing(WORKLOAD, same, 99, T0.replace(hour=13)).version == v
    assert routing([entry("a/x", 2), entry("b/y", 1)]).version != v  # swapped
    assert routing([entry("a/x", 1), entry("b/y", 2, tied=True)]).version != v  # tie mark
    assert routing([entry("a/x", 1), entry("b/y", 2), entry("c/z", 3)]).version != v  # joined


# --- the renderings -----------------------------------------------------------------------------

def test_no_secret_in_any_rendering(settings: Settings) -> None:
    assert os.environ["FW_ROUTING_TEST_KEY"] == KEY_VALUE
    for fmt in FORMATS:
        body, _ = render(routing(), settings.candidates, fmt)
        assert not [s for s in SECRETS if s in body], fmt
        assert "FW_ROUTING_TEST_KEY" in body or fmt == "openrouter"  # named, not read


def test_json_document_names_the_evaluation_version_and_endpoints(settings: Settings) -> None:
    doc = render_json(routing(), settings.candidates)
    assert (doc["workload"], doc["evaluation_id"], doc["evaluated_at"]) == (
        WORKLOAD, 7, T0.isoformat())
    assert doc["version"] == routing().version
    first = doc["candidates"][0]
    assert first == {"candidate": "openai/mini", "position": 1, "rank": 1, "tied": False,
                     "state": "serving", "endpoint": {
                         "provider": "openai", "api": "openai", "model": "gpt-4o-mini",
                         "base_url": "https://api.openai.com/v1",
                         "api_key_env": "FW_ROUTING_TEST_KEY", "api_key_from_file": False}}
    proxy = next(c for c in doc["candidates"] if c["candidate"] == "openai/behind-proxy")
    assert proxy["endpoint"]["base_url"] == "https://proxy.example/v1?api-version=x"
    assert doc["candidates"][1]["endpoint"]["api_key_from_file"] is True
    assert [e["candidate"] for e in doc["excluded"]] == ["x/unknown", "x/down", "x/throttled",
                                                         "x/gated"]


def test_a_candidate_no_longer_configured_keeps_its_place_without_an_endpoint(
        settings: Settings) -> None:
    r = routing([entry("gone/old", 1), entry("openai/mini", 2)])
    doc = render_json(r, settings.candidates)
    assert [(c["candidate"], c["endpoint"] is None) for c in doc["candidates"]] == [
        ("gone/old", True), ("openai/mini", False)]
    fragment = render_litellm(r, settings.candidates)
    assert "# Left out: gone/old (no longer enabled in factorwatch's config)" in fragment
    assert [d["model_info"]["factorwatch_candidate"]
            for d in yaml.safe_load(fragment)["model_list"]] == ["openai/mini"]


def test_litellm_fragment_one_group_per_workload_ordered_keys_as_references(
        settings: Settings) -> None:
    text = render_litellm(routing(), settings.candidates)
    assert text.startswith(f"# factorwatch routing of workload chat, version {routing().version}")
    deployments = yaml.safe_load(text)["model_list"]
    assert {d["model_name"] for d in deployments} == {WORKLOAD}
    params = {d["model_info"]["factorwatch_candidate"]: d["litellm_params"] for d in deployments}
    assert params["openai/mini"] == {"model": "openai/gpt-4o-mini",
                                     "api_base": "https://api.openai.com/v1",
                                     "api_key": "os.environ/FW_ROUTING_TEST_KEY", "order": 1}
    assert params["anthropic/sonnet"]["model"] == "anthropic/claude-sonnet-4-5"
    assert "api_key" not in params["anthropic/sonnet"]  # read from a file: no name to give
    assert params["self-hosted/gem"]["api_key"] == "no-key"  # probed without a key
    assert params["self-hosted/gem"]["model"] == "gemini/gemini-2.5-flash"
    assert params["azure-openai/chat"] == {
        "model": "azure/chat-deployment", "api_base": "https://res.openai.azure.com",
        "api_version": "2025-01-01-preview", "api_key": "os.environ/FW_ROUTING_TEST_KEY",
        "order": 4}
    assert params["openai/behind-proxy"]["api_base"] == "https://proxy.example/v1"
    infos = {d["model_info"]["factorwatch_candidate"]: d["model_info"] for d in deployments}
    assert "api_key_file" in infos["anthropic/sonnet"]["factorwatch_notes"][0]
    assert "user:password@" in infos["openai/behind-proxy"]["factorwatch_notes"][0]
    assert infos["anthropic/sonnet"]["factorwatch_tied"] is True
    assert [p["order"] for p in params.values()] == [1, 2, 3, 4, 5, 6]


def test_litellm_says_when_it_leaves_part_of_a_base_url_out(settings: Settings) -> None:
    cand = settings.candidates["openai/mini"].model_copy(
        update={"base_url": "https://api.example/v1?api-version=1"})
    deployment = litellm_deployment(WORKLOAD, routing().order[0], cand)
    assert deployment["litellm_params"]["api_base"] == "https://api.example/v1"
    assert "left out" in deployment["model_info"]["factorwatch_notes"][0]


def test_litellm_fragment_changes_only_with_what_a_gateway_applies(settings: Settings) -> None:
    later = [dict(e, state="degraded" if e["state"] == "serving" else e["state"],
                  state_reason="other words") for e in ENTRIES]
    assert render_litellm(build_routing(WORKLOAD, later, 8, T0.replace(hour=13)),
                          settings.candidates) == render_litellm(routing(), settings.candidates)


def test_openrouter_provider_object_maps_providers_to_slugs_once(settings: Settings) -> None:
    doc = render_openrouter(routing(), settings.candidates)
    # openai/mini first; openai/behind-proxy's provider is already listed.
    assert doc["provider"] == {"order": ["openai", "anthropic", "azure"],
                               "allow_fallbacks": False}
    assert {s["candidate"]: s["why"] for s in doc["not_on_openrouter"]} == {
        "self-hosted/gem": "provider 'self-hosted' has no OpenRouter slug",
        "openrouter/mini": "served through OpenRouter, which picks its provider"}


def test_etag_is_the_bodys_and_if_none_match_compares_weakly() -> None:
    tag = etag("body")
    assert tag.startswith('"') and tag.endswith('"') and tag != etag("body2")
    assert etag_matches(tag, tag) and etag_matches(f'"x", W/{tag}', tag)
    assert etag_matches("*", tag)
    assert not etag_matches('"x"', tag) and not etag_matches(None, tag)


# --- LiteLLM's own Router reads the fragment ------------------------------------------------------

@pytest.fixture(scope="module")
def litellm() -> Iterator[ModuleType]:
    # LiteLLM fetches its price map from GitHub at import unless told to use its bundled copy.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        import litellm as module
        yield module


def router_for(litellm: ModuleType, model_list: list[dict[str, Any]]) -> Any:
    return litellm.Router(model_list=model_list, num_retries=0)


def test_litellm_router_loads_the_fragment_and_sends_to_position_1(
        litellm: ModuleType, settings: Settings) -> None:
    model_list = yaml.safe_load(render_litellm(routing(), settings.candidates))["model_list"]
    router = router_for(litellm, model_list)
    picked = router.get_available_deployment(model=WORKLOAD,
                                             messages=[{"role": "user", "content": "hi"}])
    assert picked["model_info"]["id"] == "chat/openai/mini"


def test_litellm_router_falls_back_in_rank_order(litellm: ModuleType,
                                                 settings: Settings) -> None:
    """Positions 1 and 2 fail (LiteLLM's offline mock_response), so 3 answers, never 4."""
    model_list = yaml.safe_load(render_litellm(routing(), settings.candidates))["model_list"]
    mocked = copy.deepcopy(model_list)
    for d in mocked:
        order = d["litellm_params"]["order"]
        d["litellm_params"]["mock_response"] = (
            "litellm.InternalServerError" if order <= 2 else f"answer from {order}")
    router = router_for(litellm, mocked)
    answer = router.completion(model=WORKLOAD, messages=[{"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content == "answer from 3"
    assert answer._hidden_params["model_id"] == "chat/self-hosted/gem"


def test_litellm_reads_the_key_from_the_named_variable(litellm: ModuleType,
                                                       settings: Settings) -> None:
    model_list = yaml.safe_load(render_litellm(routing(), settings.candidates))["model_list"]
    router = router_for(litellm, model_list)
    deployment = router.registry().deployment("chat/openai/mini")
    assert deployment.litellm_params.api_key == KEY_VALUE  # resolved by LiteLLM, not by us


# --- the event's words and the metric -----------------------------------------------------------

def test_routing_changed_payload_headline_and_reasons() -> None:
    old = routing([entry("a/x", 1), entry("b/y", 2), entry("c/z", 3, "down", reason="r0")])
    new = routing([entry("a/x", 1, "down", reason="5 of 5 probes failed"), entry("b/y", 2),
                   entry("c/z", 3, tied=True)], evaluation_id=8)
    payload = change_payload(old, new)
    assert payload["old_order"] == [{"candidate": "a/x", "tied": False},
                                    {"candidate": "b/y", "tied": False}]
    assert payload["new_order"] == [{"candidate": "b/y", "tied": False},
                                    {"candidate": "c/z", "tied": True}]
    assert payload["changes"] == [
        {"candidate": "b/y", "was": 2, "now": 1, "why": "moved 2 → 1"},
        {"candidate": "c/z", "was": None, "now": 2,
         "why": "joined at 2: serving (was down: r0)"},
        {"candidate": "a/x", "was": 1, "now": None, "why": "left: down: 5 of 5 probes failed"}]
    assert payload["evaluation_id"] == 8 and payload["new_version"] == new.version
    event = AlertEvent.of(1, "routing_changed", "warning", "k", T0, payload, {})
    assert headline(event) == "chat: routing a/x, b/y → b/y, c/z"
    assert reasons(event)[0].startswith("b/y moved 2 → 1; c/z joined at 2")
    assert event.workload == WORKLOAD and event.kind.title == "Routing order changed"


def test_headline_shortens_a_long_order() -> None:
    many = [{"candidate": f"c/{i}", "tied": False} for i in range(6)]
    event = AlertEvent.of(1, "routing_changed", "info", "k", T0, {
        "workload": "w", "old_order": many, "new_order": []}, {})
    assert headline(event) == "w: routing c/0, c/1, c/2, c/3 +2 → none"


def test_position_metric_for_the_candidates_that_may_serve_only() -> None:
    doc = {"workload": WORKLOAD, "evaluated_at": T0.isoformat(), "top_choice": None,
           "ranking": [{**e, "composite": 3.0, "factors": {}} for e in ENTRIES]}
    registry = CollectorRegistry()
    registry.register(StoreCollector(lambda: [doc], {}))
    value = registry.get_sample_value
    assert value("factorwatch_routing_position", {"workload": WORKLOAD,
                                                  "candidate": "anthropic/sonnet"}) == 2
    for absent in ("x/unknown", "x/down", "x/throttled", "x/gated"):
        assert value("factorwatch_routing_position", {"workload": WORKLOAD,
                                                      "candidate": absent}) is None


def test_every_format_is_valid_json_or_yaml(settings: Settings) -> None:
    for fmt in FORMATS:
        body, media = render(routing(), settings.candidates, fmt)
        parsed = yaml.safe_load(body) if media == "application/yaml" else json.loads(body)
        assert parsed


# --- through LiteLLM to real servers: every API, and the failover ---------------------------------

SIM_CONFIG = """
builtin_catalog: false
database: sqlite:///{tmp}/unused.db
providers:
  s: {{}}
candidates:
  s/broken: {{provider: s, api: openai, base_url: "{openai}", model: broken}}
  s/claude: {{provider: s, api: anthropic, base_url: "{anthropic}", model: claude-ish}}
  s/gem: {{provider: s, api: gemini, base_url: "{gemini}", model: gem-ish}}
  s/azure: {{provider: s, api: azure-openai, base_url: "{azure}", model: azure-ish}}
workloads:
  chat:
    volume: {{requests_per_month: 1000, input_tokens: 100, output_tokens: 100}}
    weights: {{cost: 1}}
"""
SIM_ORDER = ["s/broken", "s/claude", "s/gem", "s/azure"]


@pytest.fixture
def sim() -> Iterator[SimServer]:
    fine = SimModel(ttft_seconds=0.01, inter_token_seconds=0.001, output_tokens=4)
    server = SimServer({"broken": SimModel(error_rate=1.0), "claude-ish": fine,
                        "gem-ish": fine, "azure-ish": fine}, seed=1)
    server.start_in_thread()
    yield server
    server.stop_thread()


def streamed(router: Any) -> tuple[str, str]:
    """(the text, the deployment that answered) of one streamed request to the workload."""
    answer = router.completion(model=WORKLOAD, messages=[{"role": "user", "content": "hi"}],
                               max_tokens=4, stream=True)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in answer)
    return text, answer._hidden_params["model_id"]


def test_litellm_reaches_every_api_of_the_fragment_and_fails_over_in_order(
        litellm: ModuleType, sim: SimServer, tmp_path: Path) -> None:
    path = tmp_path / "fw.yaml"
    path.write_text(SIM_CONFIG.format(tmp=tmp_path, **{
        name.replace("-openai", ""): sim.url_for(name)
        for name in ("openai", "anthropic", "gemini", "azure-openai")}))
    candidates = load_settings(path, environ={}).candidates
    fragment = render_litellm(routing([entry(c, i + 1) for i, c in enumerate(SIM_ORDER)]),
                              candidates)
    model_list = yaml.safe_load(fragment)["model_list"]
    text, answered = streamed(router_for(litellm, model_list))
    assert text and answered == "chat/s/claude"  # position 1 answers 500: position 2
    for deployment in model_list[1:]:  # each API, as the fragment describes it
        text, answered = streamed(router_for(litellm, [deployment]))
        assert text and answered == deployment["model_info"]["id"]
