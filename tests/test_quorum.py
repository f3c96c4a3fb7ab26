"""Regional quorum (service/scoring/quorum.py): examples, properties, and stories on a real
store (SQLite and PostgreSQL) with probes from three regions."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from service.config import ConfigError, Settings, load_settings
from service.rankings.evaluation import evaluate_and_save
from service.scoring.evidence import CandidateEvidence, RecentProbes
from service.scoring.quorum import combine, monitor_regions, regional_states
from service.scoring.states import (
    DEGRADED,
    DOWN,
    SERVING,
    STATES,
    THROTTLED,
    UNKNOWN,
    StateRules,
    judge_state,
)
from service.sinks.events import AlertEvent
from service.sinks.render import headline
from service.store.models import Event, ProbeResultRow
from service.store.rollup import apply_rollups
from tests.clock import T0 as NOW

RULES = StateRules(quorum=2)
OK = RecentProbes(ok=10)
FAILING = RecentProbes(failed=10, first_failed_at=NOW - timedelta(minutes=4),
                       errors={"http_5xx 503": 10})


def ev(candidate: str, provider: str, **by_region: RecentProbes) -> CandidateEvidence:
    return CandidateEvidence(candidate, provider, 3600.0, recent_by_region=dict(by_region))


# --- examples ----------------------------------------------------------------------------


def test_down_in_one_region_of_three_with_quorum_two_is_degraded_naming_it() -> None:
    states = regional_states([ev("p/a", "p", eu=FAILING, us=OK, ap=OK),
                              ev("q/b", "q", eu=OK, us=OK, ap=OK)], RULES, NOW)
    a = states["p/a"]
    assert (a.state, a.regions) == (DEGRADED, ("eu",))
    assert a.reason.startswith("down in eu, serving in ap, us; quorum 2; eu: 10 of 10 probes "
                               "failed since 11:56:00Z (http_5xx 503 x10)")
    assert states["q/b"].state == SERVING


def test_down_in_two_regions_of_three_is_down_naming_both() -> None:
    states = regional_states([ev("p/a", "p", eu=FAILING, us=FAILING, ap=OK),
                              ev("q/b", "q", eu=OK, us=OK, ap=OK)], RULES, NOW)
    a = states["p/a"]
    assert (a.state, a.regions) == (DOWN, ("eu", "us"))
    assert a.reason.startswith("down in eu, us (2 of 3 regions heard; quorum 2); eu: ")


def test_a_region_where_every_provider_fails_is_the_monitors_own_problem() -> None:
    evidence = [ev("p/a", "p", eu=OK, us=OK, ap=FAILING),
                ev("q/b", "q", eu=OK, us=OK, ap=FAILING)]
    states = regional_states(evidence, StateRules(quorum=1), NOW)
    assert {c: s.state for c, s in states.items()} == {"p/a": SERVING, "q/b": SERVING}
    assert states["p/a"].regions == ("eu", "us")
    # ... and it does not count against a real outage elsewhere either.
    evidence = [ev("p/a", "p", eu=FAILING, us=FAILING, ap=FAILING),
                ev("q/b", "q", eu=OK, us=OK, ap=FAILING)]
    a = regional_states(evidence, RULES, NOW)["p/a"]
    assert (a.state, a.regions) == (DOWN, ("eu", "us"))
    assert "(2 of 2 regions heard; quorum 2)" in a.reason


def test_every_region_the_monitors_own_problem_leaves_the_state_unknown() -> None:
    evidence = [ev("p/a", "p", eu=FAILING, us=FAILING), ev("q/b", "q", eu=FAILING, us=FAILING)]
    a = regional_states(evidence, RULES, NOW)["p/a"]
    assert a.state == UNKNOWN
    assert a.reason.startswith("every region that probed it (eu, us) is failing on every "
                               "provider at once")


def test_a_silent_region_is_not_counted_as_agreeing() -> None:
    # Three regions run; us went silent (no probe of p/a in the window): eu alone sees p/a
    # down, which is not a quorum of two.
    evidence = [ev("p/a", "p", eu=FAILING, ap=OK), ev("q/b", "q", eu=OK, ap=OK)]
    a = regional_states(evidence, RULES, NOW)["p/a"]
    assert (a.state, a.regions) == (DEGRADED, ("eu",))
    # Nor does a region that heard nothing but our key being refused.
    keyless = RecentProbes(config_errors=5)
    evidence = [ev("p/a", "p", eu=FAILING, us=keyless, ap=OK), ev("q/b", "q", eu=OK, ap=OK)]
    assert regional_states(evidence, RULES, NOW)["p/a"].state == DEGRADED


def test_one_region_with_quorum_one_leaves_the_state_to_judge_state() -> None:
    assert regional_states([ev("p/a", "p", local=FAILING)], StateRules(), NOW) == {}
    assert regional_states([ev("p/a", "p")], RULES, NOW) == {}  # nothing probed anywhere


def test_the_last_region_left_is_not_a_quorum() -> None:
    # Two regions, quorum 2; us-east fell silent: eu-west alone cannot declare p/a down.
    evidence = [ev("p/a", "p", **{"eu-west": FAILING}), ev("q/b", "q", **{"eu-west": OK})]
    a = regional_states(evidence, RULES, NOW)["p/a"]
    assert (a.state, a.regions) == (DEGRADED, ("eu-west",))
    assert a.reason.startswith("down in eu-west; quorum 2; eu-west: 10 of 10 probes failed")


def test_the_worst_state_below_down_wins_with_its_regions() -> None:
    throttling = RecentProbes(ok=2, throttled=8)
    got = combine({"eu": judge_state(throttling, RULES, NOW), "us": ("serving", "fine")}, 2)
    assert (got.state, got.regions) == (THROTTLED, ("eu",))
    assert got.reason.startswith("throttled in eu; eu: 8 of 10 probes that did not fail")


def test_monitor_regions_needs_two_providers_in_the_region() -> None:
    states = {"p/a": {"eu": DOWN, "us": DOWN}, "p/b": {"eu": DOWN, "us": UNKNOWN},
              "q/c": {"eu": UNKNOWN, "us": DOWN}}
    providers = {"p/a": "p", "p/b": "p", "q/c": "q"}
    assert monitor_regions(states, providers) == frozenset({"us"})


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_a_quorum_below_one_is_refused_where_it_is(tmp_path: Path, value: str) -> None:
    path = tmp_path / "fw.yaml"
    path.write_text(f"builtin_catalog: false\nscoring: {{states: {{quorum: {value}}}}}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    [error] = caught.value.errors
    assert error.startswith("scoring.states.quorum: ")


# --- properties --------------------------------------------------------------------------

REGIONS = ["eu", "us", "ap", "sa", "af"]
judged_states = st.sampled_from(STATES).map(lambda s: (s, f"{s} there"))
judgements = st.dictionaries(st.sampled_from(REGIONS), judged_states, max_size=4)
recents = st.builds(RecentProbes, ok=st.integers(0, 12), failed=st.integers(0, 12),
                    throttled=st.integers(0, 6), config_errors=st.integers(0, 3))


@given(judgements, st.integers(1, 4), st.sampled_from(REGIONS), st.booleans())
def test_adding_a_silent_region_never_changes_the_verdict(
        judged: dict[str, tuple[str, str]], quorum: int, region: str, keyless: bool) -> None:
    before = combine(judged, quorum)
    silent = (UNKNOWN, "2 probes refused our key" if keyless else "no probe ran")
    after = combine({**judged, region: silent} if region not in judged else judged, quorum)
    assert (after.state, after.regions) == (before.state, before.regions)


fleets = st.lists(st.dictionaries(st.sampled_from(["eu", "us", "ap"]), recents), min_size=3,
                  max_size=3)


@given(fleets, st.integers(1, 3))
def test_adding_a_region_that_heard_nothing_never_changes_any_state(
        fleet: list[dict[str, RecentProbes]], quorum: int) -> None:
    names = [("p/a", "p"), ("q/b", "q"), ("p/c", "p")]
    rules = StateRules(quorum=quorum)
    before = regional_states([ev(c, p, **by_region) for (c, p), by_region in zip(
        names, fleet, strict=True)], rules, NOW)
    if not before:
        return  # one region and quorum 1: judge_state's own (the property below)
    keyless = RecentProbes(config_errors=2)
    after = regional_states([ev(c, p, **by_region, sa=keyless) for (c, p), by_region in zip(
        names, fleet, strict=True)], rules, NOW)
    assert {c: (s.state, s.regions) for c, s in after.items()} == \
        {c: (s.state, s.regions) for c, s in before.items()}


@given(judgements, st.integers(1, 4), st.sampled_from(REGIONS))
def test_a_region_agreeing_never_undeclares_a_down(
        judged: dict[str, tuple[str, str]], quorum: int, region: str) -> None:
    if combine(judged, quorum).state != DOWN:
        return
    more = combine({**judged, region: (DOWN, "down there")}, quorum)
    assert more.state == DOWN and set(more.regions) >= set(combine(judged, quorum).regions)


@given(judgements, st.integers(1, 4))
def test_down_only_with_a_quorum_of_regions_that_say_so(
        judged: dict[str, tuple[str, str]], quorum: int) -> None:
    got = combine(judged, quorum)
    saying_down = {r for r, (s, _) in judged.items() if s == DOWN}
    assert (got.state == DOWN) == (len(saying_down) >= quorum)
    if saying_down:
        assert set(got.regions) == saying_down and got.state in (DOWN, DEGRADED)


@given(recents, st.sampled_from(REGIONS))
def test_quorum_one_in_one_region_is_the_old_judge_state(recent: RecentProbes,
                                                         region: str) -> None:
    rules = StateRules(quorum=1)
    old = judge_state(recent, rules, NOW)
    assert combine({region: old}, 1).state == old[0]
    assert regional_states([ev("p/a", "p", **{region: recent})], rules, NOW) == {}


# --- stories on a real store: three regions, quorum 2 -----------------------------------

CONFIG = """
builtin_catalog: false
database: {db}
scoring: {{states: {{quorum: 2}}}}
alerts: {{flip: {{margin: 0.1, confirmations: 1}}}}
providers:
  p: {{facts: {{founded_year: 2015}}}}
  q: {{facts: {{founded_year: 2015}}}}
candidates:
  p/a: {{provider: p, api: openai, base_url: "http://127.0.0.1:9/v1", model: a}}
  q/b: {{provider: q, api: openai, base_url: "http://127.0.0.1:9/v1", model: b}}
workloads:
  chat:
    volume: {{requests_per_month: 1000, input_tokens: 100, output_tokens: 100}}
    latency_budget: {{ttft_p99: 1s}}
    weights: {{latency: 5, stability: 1}}
"""
REGION_NAMES = ("eu-west", "us-east", "ap-south")


@pytest.fixture
def settings(tmp_path: Path, engine: Engine, database_url: str) -> Settings:
    path = tmp_path / "fw.yaml"
    path.write_text(CONFIG.format(db=database_url))
    return load_settings(path, environ={})


def probe(engine: Engine, start: datetime, minutes: int,
          failing: dict[str, set[str]]) -> None:
    """A latency probe of each candidate from each region every 30 s; those named in
    `failing` (candidate -> regions) answer 503 there."""
    rows = []
    for i in range(minutes * 2):
        at = start + timedelta(seconds=30 * i)
        for cid, ttft in (("p/a", 0.1), ("q/b", 0.6)):
            for region in REGION_NAMES:
                down = region in failing.get(cid, set())
                rows.append(ProbeResultRow(
                    candidate_id=cid, kind="latency", region=region, started_at=at, ok=not down,
                    ttft_seconds=None if down else ttft, total_seconds=ttft + 0.5,
                    error_class="http_5xx" if down else None, http_status=503 if down else None))
    with engine.begin() as conn:
        conn.execute(ProbeResultRow.__table__.insert(),  # type: ignore[attr-defined]
                     [r.model_dump(exclude={"id"}) for r in rows])
        apply_rollups(conn, rows)


def states_of(engine: Engine, settings: Settings, at: datetime) -> dict[str, tuple[str, str]]:
    rankings, _ = evaluate_and_save(engine, settings, at)
    return {e.candidate: (e.state, e.state_reason) for e in rankings[0].entries}


def test_story_three_regions_one_network_then_one_region_then_two(
        engine: Engine, settings: Settings) -> None:
    probe(engine, NOW - timedelta(minutes=30), 20, {})
    assert states_of(engine, settings, NOW - timedelta(minutes=10))["p/a"][0] == SERVING

    # ap-south's network fails: everything fails there, across both providers. That is the
    # monitor's own problem: no outage, the candidates serve from the other regions.
    probe(engine, NOW - timedelta(minutes=10), 5, {"p/a": {"ap-south"}, "q/b": {"ap-south"}})
    got = states_of(engine, settings, NOW - timedelta(minutes=5))
    assert got["p/a"][0] == SERVING and got["q/b"][0] == SERVING
    assert got["p/a"][1].startswith("serving in eu-west, us-east; ")

    # p/a fails in eu-west only: quorum 2 is not met, it is degraded, the region named.
    probe(engine, NOW - timedelta(minutes=5), 5, {"p/a": {"eu-west"}})
    state, reason = states_of(engine, settings, NOW)["p/a"]
    assert state == DEGRADED
    assert reason.startswith("down in eu-west, serving in ap-south, us-east; quorum 2")
    assert _events(engine) == []  # the top choice stays: degraded can serve

    # ... and in us-east too: down, and the top-choice alert names both regions.
    probe(engine, NOW, 5, {"p/a": {"eu-west", "us-east"}})
    state, reason = states_of(engine, settings, NOW + timedelta(minutes=5))["p/a"]
    assert state == DOWN
    assert reason.startswith("down in eu-west, us-east (2 of 3 regions heard; quorum 2)")
    [event] = _events(engine)
    assert event.type == "top_choice_changed" and event.payload["cause"] == "unavailable"
    assert event.payload["regions"] == ["eu-west", "us-east"]
    alert = AlertEvent(1, event.type, event.severity, event.dedup_key, event.created_at,
                       event.payload)
    assert headline(alert) == (f"chat: p/a is down in eu-west, us-east → q/b "
                               f"({event.payload['new_composite']:.2f})")


def test_story_a_region_goes_silent_and_is_not_counted(engine: Engine,
                                                       settings: Settings) -> None:
    # Only eu-west and ap-south probe (us-east went silent); p/a fails in eu-west.
    rows = []
    for i in range(10):
        at = NOW - timedelta(seconds=30 * (10 - i))
        for region in ("eu-west", "ap-south"):
            for cid in ("p/a", "q/b"):
                down = cid == "p/a" and region == "eu-west"
                rows.append(ProbeResultRow(candidate_id=cid, kind="latency", region=region,
                                           started_at=at, ok=not down, ttft_seconds=0.2,
                                           error_class="http_5xx" if down else None))
    with engine.begin() as conn:
        conn.execute(ProbeResultRow.__table__.insert(),  # type: ignore[attr-defined]
                     [r.model_dump(exclude={"id"}) for r in rows])
        apply_rollups(conn, rows)
    state, reason = states_of(engine, settings, NOW)["p/a"]
    assert state == DEGRADED and reason.startswith("down in eu-west, serving in ap-south; "
                                                   "quorum 2")


def _events(engine: Engine) -> list[Event]:
    with Session(engine) as session:
        return list(session.exec(select(Event).where(Event.type == "top_choice_changed")))
