"""Status-page honesty from a real store (SQLite and PostgreSQL): the query, the API, the
metrics the hourly job sets."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.app import create_app
from service.config import Settings, load_settings
from service.outages.honesty_job import HonestyWatch
from service.outages.metrics import HonestyMetrics
from service.outages.store import honesty_figures
from service.store.models import Incident, ProbeResultRow

CONFIG = """
builtin_catalog: false
database: sqlite:///{path}
providers: {{acme: {{}}, zeta: {{}}}}
candidates:
  acme/fast: {{provider: acme, api: openai, base_url: "http://127.0.0.1:9/v1", model: fast}}
  zeta/cheap: {{provider: zeta, api: openai, base_url: "http://127.0.0.1:9/v1", model: cheap}}
"""
PROVIDERS = {"acme/fast": "acme", "zeta/cheap": "zeta"}
PROBED_MINUTES = 480  # from BASE; "dark" is declared after the probes stopped


def base(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0) - timedelta(hours=10)


ACME_DOWN = {*range(60, 90), *range(200, 210), *range(400, 440)}
INCIDENTS = [  # (id, start minute, end minute): four declared incidents of acme
    ("late", 72, 95),  # the outage at 60..89, declared 12 minutes late, resolved 5 after
    ("quiet", 300, 330),  # nothing observed, probes all along: no impact
    ("early", 395, 425),  # the outage at 400..439: declared 5 minutes early, resolved 15 early
    ("dark", 500, 560),  # after the probes stopped: unknown
]


def seed(engine: Engine, now: datetime) -> None:
    start = base(now)
    with Session(engine) as session, session.begin():
        for minute in range(PROBED_MINUTES):
            at = start + timedelta(minutes=minute, seconds=20)
            for cid in PROVIDERS:
                ok = not (cid == "acme/fast" and minute in ACME_DOWN)
                session.add(ProbeResultRow(candidate_id=cid, kind="latency", started_at=at,
                                           ok=ok, error_class=None if ok else "http_5xx"))
        # A 401 is our key's problem, not an outage: this minute stays up.
        session.add(ProbeResultRow(candidate_id="acme/fast", kind="latency",
                                   started_at=start + timedelta(minutes=250, seconds=40),
                                   ok=False, error_class="auth"))
        for external_id, s, e in INCIDENTS:
            session.add(Incident(provider="acme", external_id=external_id, title=external_id,
                                 status="resolved", started_at=start + timedelta(minutes=s),
                                 resolved_at=start + timedelta(minutes=e)))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    path = tmp_path / "factorwatch.yaml"
    path.write_text(CONFIG.format(path=tmp_path / "unused.db"), encoding="utf-8")
    return load_settings(path, environ={})


@pytest.fixture
def client(engine: Engine, settings: Settings) -> Iterator[TestClient]:
    seed(engine, datetime.now(UTC))
    app = create_app(version="test", engine=engine, registry=CollectorRegistry(),
                     readiness=lambda: {"database": True}, settings=settings)
    with TestClient(app) as c:
        yield c


def test_the_stored_story_gives_every_figure(engine: Engine) -> None:
    now = datetime.now(UTC)
    seed(engine, now)
    with Session(engine) as session:
        figures = honesty_figures(session, PROVIDERS, now - timedelta(days=30), now)
    acme, zeta = figures["acme"], figures["zeta"]
    assert len(acme.outages) == 3 and [e.minutes for e in acme.undeclared] == [10]
    assert acme.delays == [-300.0, 720.0]
    assert acme.resolution_lags == [-900.0, 300.0]
    assert {i.incident.external_id: i.impact for i in acme.incidents} == {
        "late": "observed", "quiet": "none", "early": "observed", "dark": "unknown"}
    assert zeta.outages == () and zeta.incidents == ()


def test_api_lists_every_provider_and_details_one_by_month(client: TestClient) -> None:
    body = client.get("/api/v1/honesty").json()
    assert body["next_cursor"] is None
    assert [i["provider"] for i in body["items"]] == ["acme", "zeta"]
    acme = body["items"][0]
    assert (acme["outages"], acme["undeclared_outages"]) == (3, 1)
    assert acme["undeclared_share"] == pytest.approx(1 / 3, abs=1e-4)
    assert acme["declaration_delay"] == {"count": 2, "median_seconds": 210.0,
                                         "p90_seconds": 618.0}
    assert acme["resolution_lag"] == {"count": 2, "median_seconds": -300.0,
                                      "p90_seconds": 180.0, "early": 1}
    assert acme["incidents"] == {"declared": 4, "impact_observed": 2, "no_impact": 1,
                                 "unknown": 1}

    detail = client.get("/api/v1/providers/acme/honesty", params={"days": 7}).json()
    assert [d["incident"] for d in detail["declarations"]] == ["late", "early"]
    assert [d["delay_seconds"] for d in detail["declarations"]] == [720.0, -300.0]
    assert [u["down_minutes"] for u in detail["undeclared"]] == [10]
    assert {i["incident"]: i["impact"] for i in detail["declared_incidents"]}["dark"] == \
        "unknown"
    months = detail["months"]
    assert 1 <= len(months) <= 2  # seven days reach into the month before, or not
    assert sum(m["outages"] for m in months) == 3
    assert months[-1]["until"] == detail["until"]


@pytest.mark.parametrize(("url", "status"), [
    ("/api/v1/providers/nobody/honesty", 404),
    ("/api/v1/honesty?days=0", 422),
    ("/api/v1/honesty?days=91", 422),
])
def test_api_refuses_what_it_cannot_answer(client: TestClient, url: str, status: int) -> None:
    r = client.get(url)
    assert r.status_code == status
    if status == 404:
        assert "nobody" in r.json()["detail"]


async def test_the_hourly_job_exports_the_figures(engine: Engine) -> None:
    now = datetime.now(UTC)
    seed(engine, now)
    registry = CollectorRegistry()
    job = HonestyWatch(PROVIDERS, engine, HonestyMetrics(registry), clock=lambda: now)
    await job.run()
    value = registry.get_sample_value
    assert value("factorwatch_honesty_outages", {"provider": "acme", "verdict": "declared"}) == 2
    assert value("factorwatch_honesty_outages", {"provider": "acme",
                                                 "verdict": "undeclared"}) == 1
    assert value("factorwatch_honesty_undeclared_ratio", {"provider": "acme"}) == \
        pytest.approx(1 / 3)
    assert value("factorwatch_honesty_declaration_delay_seconds",
                 {"provider": "acme", "quantile": "0.5"}) == 210.0
    assert value("factorwatch_honesty_resolution_lag_seconds",
                 {"provider": "acme", "quantile": "0.9"}) == pytest.approx(180.0)
    assert value("factorwatch_honesty_incidents", {"provider": "acme", "impact": "unknown"}) == 1
    # zeta had no outage: no share and no quantile, rather than a made-up zero.
    assert value("factorwatch_honesty_undeclared_ratio", {"provider": "zeta"}) is None
    assert value("factorwatch_honesty_declaration_delay_seconds",
                 {"provider": "zeta", "quantile": "0.5"}) is None


def test_the_overview_page_shows_the_jobs_saved_figures(client: TestClient,
                                                        engine: Engine) -> None:
    def section() -> str:
        page = client.get("/").text
        assert '<a href="#honesty">honesty</a>' in page
        return page.split('<section id="honesty">', 1)[1].split("</section>", 1)[0]

    assert "nothing yet" in section()  # the hourly job has not judged anything yet
    HonestyWatch(PROVIDERS, engine, HonestyMetrics(CollectorRegistry())).check(datetime.now(UTC))
    rows = {cells[0]: cells[1:6] for cells in (
        re.findall(r"<td[^>]*>([^<]*)</td>", row)
        for row in re.findall(r"<tr>(.*?)</tr>", section().split("<tbody>", 1)[1]))}
    assert rows["acme"] == ["3", "1 (33%)", "+3.5 min / +10.3 min", "-5.0 min (1 early)",
                            "2 / 1 / 1"]
    assert rows["zeta"] == ["0", "0 (-)", "- / -", "- (0 early)", "0 / 0 / 0"]
