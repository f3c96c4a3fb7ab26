"""Reasoning timings kept and queryable: the daemon stores first answer and reasoning tokens,
prices reasoning as output against the probe budget, exports them as metrics, and the hourly
rollups answer first-answer quantiles for any window."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from service.config import load_settings
from service.daemon import Daemon
from service.scheduler import ProbePlan
from service.sim.behaviour import SimModel
from service.sim.server import SimServer
from service.store.db import make_engine
from service.store.migrate import upgrade
from service.store.models import ProbeResultRow
from service.store.rollup import apply_rollups, window_totals
from service.store.writer import ResultWriter
from tests.clock import T0

CONFIG = """
builtin_catalog: false
database: sqlite:///{db}
providers: {{p: {{}}}}
candidates:
  p/thinker:
    provider: p
    api: {api}
    base_url: {base_url}
    model: thinker
    price: {{input_per_mtok: 1000, output_per_mtok: 2000}}
    probes: {{latency: {{every: 1h, max_tokens: 64}}}}
probe_budget: {{daily_usd_per_candidate: {budget}}}
"""
REASONING, ANSWER = 20, 8


@pytest.fixture
def fleet() -> Iterator[SimServer]:
    server = SimServer({"thinker": SimModel(ttft_seconds=0.01, inter_token_seconds=0.002,
                                            output_tokens=ANSWER, reasoning_tokens=REASONING)})
    server.start_in_thread()
    yield server
    server.stop_thread()


async def run_probes(daemon: Daemon, n: int) -> None:
    daemon.prepare_store()
    daemon._http = httpx.AsyncClient()
    try:
        for _ in range(n):
            await daemon.probing.run(ProbePlan("p/thinker", "latency", 3600.0))
        await daemon.writer.flush()
    finally:
        await daemon._http.aclose()
        daemon.engine.dispose()


@pytest.mark.parametrize("api", ["openai", "anthropic", "gemini", "openai-responses"])
async def test_daemon_stores_reasoning_and_the_budget_prices_it_as_output(
        fleet: SimServer, tmp_path: Path, api: str) -> None:
    path = tmp_path / "fw.yaml"
    # Each probe: input tokens at 1000 USD/Mtok, 8 answer + 20 reasoning tokens at 2000:
    # about 0.06 USD, of which reasoning is 0.04. A 0.1 USD budget allows 2 probes; pricing
    # the answer alone (0.016 + input) would have allowed 5.
    path.write_text(CONFIG.format(db=tmp_path / "fw.db", base_url=fleet.url_for(api),
                                  api=api, budget=0.1))
    settings = load_settings(path, environ={})
    daemon = Daemon(settings, environ={})
    await run_probes(daemon, 5)
    assert len(fleet.records) == 2
    engine = make_engine(settings.database)
    with Session(engine) as session:
        rows = list(session.exec(select(ProbeResultRow)))
    engine.dispose()
    for row in rows:
        assert row.ok, row.error_message
        assert row.output_tokens == ANSWER + REASONING
        assert row.reasoning_tokens == (REASONING if api != "anthropic" else 28 - 10)
        assert row.reasoning_tokens_estimated is (api == "anthropic")
        assert row.input_tokens is not None
        assert row.cost_usd == pytest.approx(
            (row.input_tokens * 1000 + (ANSWER + REASONING) * 2000) / 1e6)
        assert row.first_answer_seconds is not None and row.ttft_seconds is not None
        assert row.first_answer_seconds > row.ttft_seconds
        assert row.answer_tokens_per_second is not None
    labels = {"candidate": "p/thinker", "provider": "p", "region": "local"}
    registry = daemon.registry
    assert registry.get_sample_value("factorwatch_probe_first_answer_seconds_count",
                                     labels) == 2
    assert registry.get_sample_value("factorwatch_probe_reasoning_tokens_total",
                                     {**labels, "kind": "latency"}) == sum(
        r.reasoning_tokens or 0 for r in rows)


async def test_rollups_answer_first_answer_quantiles_for_any_window(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    rng = random.Random(5)
    data = [ProbeResultRow(candidate_id="a/x", kind="latency", region="local",
                           started_at=T0 + timedelta(seconds=rng.uniform(0, 2 * 86400)),
                           ok=True, ttft_seconds=0.1, first_answer_seconds=rng.uniform(0.5, 4))
            for _ in range(800)]
    writer = ResultWriter(engine, batch_size=50, in_transaction=apply_rollups)
    for row in data:
        writer.add(row)
    await writer.close()
    since, until = T0 + timedelta(minutes=17), T0 + timedelta(hours=40, minutes=3)
    with Session(engine) as session:
        got = window_totals(session, ["a/x"], since, until, ("latency",), sketches=True)
    engine.dispose()
    exact = sorted(r.first_answer_seconds for r in data  # type: ignore[type-var]
                   if since <= r.started_at <= until)
    sketch = got[("a/x", "latency", 0)].first_answer
    assert sketch.count == len(exact)
    p99 = sketch.quantile(0.99)
    assert p99 == pytest.approx(exact[int(0.99 * (len(exact) - 1))], rel=0.011)
