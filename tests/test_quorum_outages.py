"""Observed outages under the regional quorum (service/outages/regions.py): the pure rule,
its properties, and the outage_undeclared event naming the regions on a real store."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from service.outages.judge import ProbeOutcome, down_minutes
from service.outages.regions import regional_down_minutes
from service.outages.store import outage_check, outage_summaries, record_undeclared
from service.sinks.events import AlertEvent
from service.sinks.render import headline
from service.store.models import Event, ProbeResultRow
from tests.clock import T0


def m(minute: int, second: int = 0) -> datetime:
    return T0 + timedelta(minutes=minute, seconds=second)


def probes(region: str, provider: str, pattern: str) -> list[ProbeOutcome]:
    """One probe per minute from T0 from `region`: '.' ok, 'x' failed, ' ' no probe."""
    return [ProbeOutcome(provider, f"{provider}/1", m(i, 10), c == ".", region)
            for i, c in enumerate(pattern) if c != " "]


def minutes(*indices: int) -> set[datetime]:
    return {m(i) for i in indices}


def test_down_in_one_region_of_three_is_no_outage_under_quorum_two() -> None:
    outcomes = (probes("eu", "a", "xxxx") + probes("us", "a", "....") + probes("ap", "a", "....")
                + probes("eu", "b", "....") + probes("us", "b", "....")
                + probes("ap", "b", "...."))
    assert regional_down_minutes(outcomes, 2).down == {}
    one = regional_down_minutes(outcomes, 1)
    assert one.down == {"a": minutes(0, 1, 2, 3)}
    assert one.regions["a"][m(0)] == ("eu",)


def test_down_in_two_regions_is_an_outage_naming_them() -> None:
    outcomes = (probes("eu", "a", "xxxx") + probes("us", "a", "..xx") + probes("ap", "a", "....")
                + probes("eu", "b", "....") + probes("us", "b", "....")
                + probes("ap", "b", "...."))
    got = regional_down_minutes(outcomes, 2)
    assert got.down == {"a": minutes(2, 3)}
    assert got.regions == {"a": {m(2): ("eu", "us"), m(3): ("eu", "us")}}


def test_a_region_whose_network_fails_is_its_own_problem() -> None:
    outcomes = (probes("eu", "a", "....") + probes("us", "a", "....") + probes("ap", "a", "xxxx")
                + probes("eu", "b", "....") + probes("us", "b", "....")
                + probes("ap", "b", "xxxx"))
    got = regional_down_minutes(outcomes, 1)
    assert got.down == {} and got.monitor == set()
    everywhere = [ProbeOutcome(o.provider, o.candidate, o.at, False, o.region) for o in outcomes]
    assert regional_down_minutes(everywhere, 1).monitor == minutes(0, 1, 2, 3)


def test_a_silent_region_is_not_counted_as_agreeing() -> None:
    # us-east went silent after minute 1: from then eu alone sees a down, not a quorum.
    outcomes = (probes("eu", "a", "xxxx") + probes("us", "a", "xx  ") + probes("ap", "a", "....")
                + probes("eu", "b", "....") + probes("us", "b", "..  ")
                + probes("ap", "b", "...."))
    assert regional_down_minutes(outcomes, 2).down == {"a": minutes(0, 1)}


def test_the_last_region_left_is_not_a_quorum() -> None:
    outcomes = probes("eu", "a", "xxxx") + probes("eu", "b", "....")
    assert regional_down_minutes(outcomes, 2).down == {}
    assert regional_down_minutes(outcomes, 1).down == {"a": minutes(0, 1, 2, 3)}


patterns = st.text(alphabet=". x", min_size=1, max_size=6)
region_patterns = st.dictionaries(st.sampled_from(["eu", "us", "ap"]),
                                  st.tuples(patterns, patterns), min_size=1)


def outcomes_of(by_region: dict[str, tuple[str, str]]) -> list[ProbeOutcome]:
    return [o for region, (a, b) in by_region.items()
            for o in probes(region, "a", a) + probes(region, "b", b)]


@given(st.tuples(patterns, patterns))
def test_one_region_is_down_minutes_itself(pattern: tuple[str, str]) -> None:
    outcomes = outcomes_of({"local": pattern})
    got = regional_down_minutes(outcomes, 1)
    assert (got.down, got.monitor, got.regions) == (*down_minutes(outcomes), {})


@given(region_patterns, st.integers(1, 3))
def test_a_higher_quorum_never_adds_down_minutes(by_region: dict[str, tuple[str, str]],
                                                 quorum: int) -> None:
    outcomes = outcomes_of(by_region)
    lower, higher = (regional_down_minutes(outcomes, q).down for q in (quorum, quorum + 1))
    for provider, down in higher.items():
        assert down <= lower.get(provider, set())


@given(region_patterns, st.integers(1, 3))
def test_every_down_minute_has_a_quorum_of_regions_named(
        by_region: dict[str, tuple[str, str]], quorum: int) -> None:
    outcomes = outcomes_of(by_region)
    got = regional_down_minutes(outcomes, quorum)
    # One region that probed, at quorum 1, is down_minutes' own: no regions named. A region
    # drawn with no probes at all is silent, so it does not make two.
    if len({o.region for o in outcomes}) > 1 or quorum > 1:
        for provider, down in got.down.items():
            assert set(got.regions[provider]) == down
            assert all(len(got.regions[provider][minute]) >= quorum for minute in down)


def test_store_outage_undeclared_names_the_regions_that_agree(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        for i in range(10):
            for region in ("eu-west", "us-east", "ap-south"):
                a_down = region != "ap-south"
                session.add(ProbeResultRow(candidate_id="a/1", kind="latency", region=region,
                                           started_at=m(i, 5), ok=not a_down,
                                           error_class="http_5xx" if a_down else None))
                session.add(ProbeResultRow(candidate_id="b/1", kind="latency", region=region,
                                           started_at=m(i, 5), ok=True))
    providers = {"a/1": "a", "b/1": "b"}
    with Session(engine) as session, session.begin():
        summaries, regions = outage_check(session, providers, m(0), m(60), quorum=2)
        assert record_undeclared(session, summaries, m(60), regions=regions) == 1
        # Three regions required: ap-south serves, so nothing is down.
        assert outage_summaries(session, providers, m(0), m(60), 3)["a"].observed_minutes == 0
    assert summaries["a"].observed_minutes == 10
    with Session(engine) as session:
        [event] = session.exec(select(Event)).all()
    assert event.payload["regions"] == ["eu-west", "us-east"]
    alert = AlertEvent(1, event.type, event.severity, event.dedup_key, event.created_at,
                       event.payload)
    assert headline(alert) == (f"a: down in eu-west, us-east 10 min from {m(0).isoformat()} "
                               "with no declared incident")
