"""The state window read from a real store (SQLite and PostgreSQL), and the states it gives."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from service.rankings.recent import recent_probes
from service.scoring.states import StateRules, judge_state
from service.store.db import make_engine
from service.store.migrate import upgrade
from service.store.models import ProbeResultRow
from tests.clock import T0 as NOW

WINDOW = timedelta(minutes=5)


def row(candidate: str, seconds_ago: float, ok: bool = True, error: str | None = None,
        status: int | None = None, kind: str = "latency",
        retry_after: float | None = None) -> ProbeResultRow:
    return ProbeResultRow(candidate_id=candidate, kind=kind, ok=ok, error_class=error,
                          http_status=status, retry_after_seconds=retry_after,
                          started_at=NOW - timedelta(seconds=seconds_ago))


def rows() -> list[ProbeResultRow]:
    return [
        # down: three 503s in the window, a success long before it
        row("p/down", 400), row("p/down", 200, False, "http_5xx", 503),
        row("p/down", 100, False, "http_5xx", 503),
        row("p/down", 10, False, "http_5xx", 503, kind="uptime"),
        # paused: one 429 asking for 300 s, two minutes ago; nothing since
        row("p/paused", 250),
        row("p/paused", 120, False, "rate_limited", 429, retry_after=300),
        # recovered: a 429 whose pause ran out, then a success
        row("p/recovered", 590, False, "rate_limited", 429, retry_after=30),
        row("p/recovered", 60),
        # our key: only 401s
        row("p/key", 30, False, "auth", 401), row("p/key", 20, False, "auth", 401),
        # not availability: a failed tools probe does not count
        row("p/tools", 30, False, "http_5xx", 500, kind="tools"),
    ]


@pytest.mark.integration
def test_recent_probes_and_the_states_they_give(database_url: str) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with Session(engine) as session, session.begin():
            session.add_all(rows())
        with Session(engine) as session:
            recent = recent_probes(session, ["p/down", "p/paused", "p/recovered", "p/key",
                                             "p/tools"], NOW - WINDOW, NOW)
    finally:
        engine.dispose()
    down = recent["p/down"]
    assert (down.ok, down.failed, down.errors) == (0, 3, {"http_5xx 503": 3})
    assert down.first_failed_at == NOW - timedelta(seconds=200)
    assert recent["p/paused"].throttled_until == NOW + timedelta(seconds=180)
    assert recent["p/recovered"].throttled_until is None  # a success came after the 429
    assert recent["p/key"].config_errors == 2 and recent["p/key"].answered == 0
    assert "p/tools" not in recent

    rules = StateRules()
    states = {cid: judge_state(recent.get(cid), rules, NOW)
              for cid in ("p/down", "p/paused", "p/recovered", "p/key", "p/tools")}
    assert states["p/down"] == ("down", "3 of 3 probes failed since 11:56:40Z "
                                        "(http_5xx 503 x3)")
    assert states["p/paused"][0] == "throttled"
    assert states["p/paused"][1] == ("1 of 2 probes answered 429 in the last 5 min, asking to "
                                     "wait until 12:03:00Z (Retry-After)")
    assert states["p/recovered"][0] == "serving"
    assert states["p/key"] == ("unknown", "2 probes refused our key (401/403) in the last 5 min")
    assert states["p/tools"] == ("unknown", "no probe ran in the last 5 min")
