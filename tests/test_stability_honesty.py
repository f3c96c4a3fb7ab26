"""Status-page honesty in the stability factor: off by default, then the formula
(service/scoring/honesty.py), then from the honesty job's saved figures through a scoring
pass on a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from sqlmodel import Session

from service.config import load_settings
from service.outages.honesty_job import HonestyWatch
from service.outages.metrics import HonestyMetrics
from service.rankings.evaluation import evaluate
from service.scoring.base import WorkloadSpec
from service.scoring.cost import Volume
from service.scoring.evidence import CandidateEvidence, FactValue, HonestyFacts
from service.scoring.factors import FACTOR_FUNCTIONS
from service.scoring.honesty import honesty_adjustment
from service.store.db import make_engine
from service.store.migrate import upgrade
from service.store.models import ProbeResultRow
from tests.clock import T0

FOUNDED_LONG_AGO = {"founded_year": FactValue(2010)}  # 5 points before any adjustment


def stability(honesty: HonestyFacts | None, penalty: float) -> float | None:
    wl = WorkloadSpec(name="w", volume=Volume(1000, 1000, 1000), weights={"stability": 1},
                      honesty_penalty=penalty)
    ev = CandidateEvidence(candidate="c", provider="p", window_seconds=3600,
                           facts=FOUNDED_LONG_AGO, honesty=honesty)
    return FACTOR_FUNCTIONS["stability"](ev, wl, T0).score


def test_off_by_default_rankings_do_not_change() -> None:
    never_declares = HonestyFacts(outages=5, undeclared=5, median_delay_seconds=None)
    assert stability(never_declares, 0.0) == stability(None, 0.0) == 5.0
    assert WorkloadSpec(name="w", volume=Volume(1, 1, 1), weights={"x": 1}).honesty_penalty == 0


@pytest.mark.parametrize(("facts", "change"), [
    pytest.param(HonestyFacts(4, 4, None), -1.0, id="declares-nothing-loses-the-penalty"),
    pytest.param(HonestyFacts(4, 0, 0.0), 0.0, id="declares-all-on-time"),
    pytest.param(HonestyFacts(4, 0, -600.0), 0.0, id="declares-before-we-see-it"),
    pytest.param(HonestyFacts(4, 0, 1800.0), -0.5, id="half-an-hour-late"),
    pytest.param(HonestyFacts(4, 0, 7200.0), -1.0, id="late-counts-at-most-an-hour"),
    pytest.param(HonestyFacts(4, 2, 1800.0), -0.75, id="half-undeclared-rest-half-late"),
    pytest.param(HonestyFacts(0, 0, None), 0.0, id="no-outage-nothing-to-judge"),
])
def test_the_formula(facts: HonestyFacts, change: float) -> None:
    got, reason, evidence = honesty_adjustment(facts, 1.0)
    assert got == pytest.approx(change)
    assert evidence["honesty_undeclared_30d"] == facts.undeclared
    assert stability(facts, 1.0) == pytest.approx(5.0 + change)
    assert ("undeclared" in reason) is (facts.outages > 0)


def test_the_score_stays_within_1_to_5() -> None:
    young = {"founded_year": FactValue(T0.year)}  # 1 point to begin with
    wl = WorkloadSpec(name="w", volume=Volume(1, 1, 1), weights={"stability": 1},
                      honesty_penalty=2.0)
    ev = CandidateEvidence(candidate="c", provider="p", window_seconds=3600, facts=young,
                           honesty=HonestyFacts(3, 3, None))
    assert FACTOR_FUNCTIONS["stability"](ev, wl, T0).score == 1.0


@given(outages=st.integers(1, 50), data=st.data(),
       delay=st.one_of(st.none(), st.floats(-7200, 7200)), penalty=st.floats(0, 2))
def test_an_undeclared_outage_more_never_raises_stability(
        outages: int, data: st.DataObject, delay: float | None, penalty: float) -> None:
    undeclared = data.draw(st.integers(0, outages - 1))
    before = stability(HonestyFacts(outages, undeclared, delay), penalty)
    after = stability(HonestyFacts(outages, undeclared + 1, delay), penalty)
    assert before is not None and after is not None and after <= before


CONFIG = """
builtin_catalog: false
database: {db}
providers:
  p: {{facts: {{founded_year: 2010}}}}
  q: {{facts: {{founded_year: 2010}}}}
candidates:
  p/a: {{provider: p, api: openai, base_url: "http://127.0.0.1:9/v1", model: a}}
  q/b: {{provider: q, api: openai, base_url: "http://127.0.0.1:9/v1", model: b}}
workloads:
  plain:
    volume: {{requests_per_month: 1000, input_tokens: 100, output_tokens: 100}}
    weights: {{stability: 1}}
  strict:
    volume: {{requests_per_month: 1000, input_tokens: 100, output_tokens: 100}}
    weights: {{stability: 1}}
    honesty_penalty: 2
"""


def test_the_jobs_saved_figures_reach_stability_only_where_asked(
        tmp_path: Path, database_url: str) -> None:
    path = tmp_path / "fw.yaml"
    path.write_text(CONFIG.format(db=database_url))
    settings = load_settings(path, environ={})
    upgrade(settings.database)
    engine = make_engine(settings.database)
    now = T0 + timedelta(hours=3)
    with Session(engine) as session, session.begin():
        for minute in range(120):  # p is down 20..29 and never says so; q is fine
            at = T0 + timedelta(minutes=minute, seconds=15)
            session.add(ProbeResultRow(candidate_id="p/a", kind="uptime", started_at=at,
                                       ok=not 20 <= minute < 30))
            session.add(ProbeResultRow(candidate_id="q/b", kind="uptime", started_at=at, ok=True))
    job = HonestyWatch({"p/a": "p", "q/b": "q"}, engine, HonestyMetrics(CollectorRegistry()))
    job.check(now)
    job.check(now)  # the next run replaces the row, it does not add one

    with Session(engine) as session:
        plain, strict = evaluate(session, settings, now + timedelta(minutes=5))
        before_the_job = evaluate(session, settings, now - timedelta(minutes=5))[1]
    score = {(r.workload, e.candidate): e.factors["stability"] for r in (plain, strict)
             for e in r.entries}
    assert score[("plain", "p/a")].score == 5.0  # the default workload does not change
    assert score[("strict", "p/a")].score == 3.0  # declared none of its outages: -2
    assert score[("strict", "p/a")].evidence["honesty_undeclared_30d"] == 1
    assert score[("strict", "q/b")].score == 5.0  # no outage: nothing to judge
    # A replay before the job had judged anything knows nothing of it.
    assert {e.candidate: e.factors["stability"].score for e in before_the_job.entries} == {
        "p/a": 5.0, "q/b": 5.0}
