"""`model_retired`: a candidate's model leaves its provider's model list or its price list.

The store side on SQLite and PostgreSQL (the `engine` fixture); the model-list job against the
simulator, whose model list a test changes mid-run; the price poller against a real price
list that loses an entry; and a running daemon that sees the simulator drop a model.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from devtools.demo import free_port
from service.config import Settings, load_settings
from service.daemon import Daemon
from service.discovery.listings import Watched, note_model_list, note_price_list
from service.sim.behaviour import SimModel
from service.sim.server import SimServer
from service.sinks.events import AlertEvent
from service.sinks.render import headline
from service.store.migrate import upgrade
from service.store.models import Event, ListedModelRow
from service.watch import Watch
from service.watch.model_lists import ModelListWatch
from tests.clock import T0, Clock
from tests.source_server import Route, SourceServer

KEY = "sk-proj-RETIREDKEY0123456789abcdefg"
DAY = timedelta(days=1)
WHO = {"old-model": [Watched("p/old-model", "p", "old-model")]}


def retired(engine: Engine) -> list[dict[str, Any]]:
    with Session(engine) as session:
        rows = session.exec(select(Event).where(Event.type == "model_retired")
                            .order_by(Event.id)).all()  # type: ignore[arg-type]
        return [dict(row.payload, severity=row.severity) for row in rows]


def note(engine: Engine, models: list[str], at: Any) -> list[str]:
    with Session(engine) as session, session.begin():
        return note_model_list(session, "p", models, WHO, at)


# --- the store: what was seen, what went -------------------------------------------------


def test_a_model_that_leaves_the_list_retires_once(engine: Engine) -> None:
    assert note(engine, ["old-model", "other"], T0) == []  # the first list: nothing to compare
    assert note(engine, ["other"], T0 + DAY) == ["p/old-model"]
    assert note(engine, ["other"], T0 + 2 * DAY) == []  # once, however long it stays gone
    (event,) = retired(engine)
    assert event == {"candidate": "p/old-model", "provider": "p", "model": "old-model",
                     "entry": "old-model", "list": "models", "source": "p's model list",
                     "last_seen_at": T0.isoformat(), "missing_since": (T0 + DAY).isoformat(),
                     "severity": "warning"}
    with Session(engine) as session:
        row = session.get(ListedModelRow, ("models:p", "old-model"))
        assert row is not None and row.gone_at == T0 + DAY and row.last_seen_at == T0


def test_a_model_that_comes_back_can_retire_again(engine: Engine) -> None:
    note(engine, ["old-model", "other"], T0)
    note(engine, ["other"], T0 + DAY)
    assert note(engine, ["old-model", "other"], T0 + 2 * DAY) == []  # back: seen again
    assert note(engine, ["other"], T0 + 3 * DAY) == ["p/old-model"]
    assert [e["last_seen_at"] for e in retired(engine)] == [T0.isoformat(),
                                                            (T0 + 2 * DAY).isoformat()]


def test_a_list_sharing_nothing_with_the_last_retires_nothing(engine: Engine) -> None:
    note(engine, ["old-model", "other"], T0)
    assert note(engine, [], T0 + DAY) == []
    assert note(engine, ["someone-elses-model"], T0 + DAY) == []
    assert retired(engine) == []
    assert note(engine, ["other"], T0 + 2 * DAY) == ["p/old-model"]  # a real list again


def test_a_price_entry_that_leaves_its_list_retires_once(engine: Engine) -> None:
    readers = {"p/old": [Watched("p/old-model", "p", "old-model")]}
    with Session(engine) as session, session.begin():  # never seen: misconfigured, not gone
        assert note_price_list(session, "litellm", [], ["p/old"], readers, T0) == []
    with Session(engine) as session, session.begin():
        note_price_list(session, "litellm", ["p/old"], [], readers, T0 + DAY)
    with Session(engine) as session, session.begin():
        assert note_price_list(session, "litellm", [], ["p/old"], readers,
                               T0 + 2 * DAY) == ["p/old-model"]
    with Session(engine) as session, session.begin():
        assert note_price_list(session, "litellm", [], ["p/old"], readers, T0 + 3 * DAY) == []
    (event,) = retired(engine)
    assert (event["list"], event["source"], event["entry"]) == (
        "prices", "the litellm price list", "p/old")


def test_the_headline_says_what_went_from_where() -> None:
    event = AlertEvent.of(1, "model_retired", "warning", "k", T0, {
        "candidate": "openai/gpt-6-luna", "entry": "gpt-6-luna",
        "source": "openai's model list", "last_seen_at": "2026-11-27T12:00:00+00:00"},
        {"openai/gpt-6-luna": "openai"})
    assert headline(event) == ("openai/gpt-6-luna: gpt-6-luna is no longer on openai's model "
                               "list (last seen 2026-11-27T12:00:00+00:00)")
    assert event.providers == ("openai",) and event.kind.title.startswith("Model gone")


# --- the model-list job against the simulator ----------------------------------------------


CONFIG = """
builtin_catalog: false
database: {database}
listen: 127.0.0.1:{port}
scoring: {{every: 60s}}
model_lists: {{every: {every}}}
providers: {{p: {{}}, q: {{}}}}
candidates:
  p/old-model:
    provider: p
    api: {api}
    base_url: {base_url}
    model: old-model
    api_key_env: P_KEY
    price: {{input_per_mtok: 1, output_per_mtok: 2}}
    probes: {{uptime: {{every: 1h}}}}
  q/unprobed:
    provider: q
    api: openai
    base_url: {base_url}
    model: unprobed
    price: {{input_per_mtok: 1, output_per_mtok: 2}}
workloads:
  chat:
    volume: {{requests_per_month: 1000, input_tokens: 500, output_tokens: 200}}
    weights: {{cost: 3}}
"""


@pytest.fixture
def sim() -> Iterator[SimServer]:
    server = SimServer({"old-model": SimModel(), "other": SimModel()}, api_key=KEY)
    server.model_page_size = 1  # Anthropic's and Gemini's lists come a model a page
    server.start_in_thread()
    yield server
    server.stop_thread()


def settings_for(tmp_path: Path, sim: SimServer, database: str, api: str = "openai",
                 every: str = "1d") -> Settings:
    path = tmp_path / "factorwatch.yaml"
    path.write_text(CONFIG.format(database=database, port=free_port(), every=every, api=api,
                                  base_url=sim.url_for(api)))
    return load_settings(path, environ={})


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c


@pytest.mark.parametrize("api", ["openai", "anthropic", "gemini"])
async def test_the_job_sees_the_simulator_drop_a_model(tmp_path: Path, sim: SimServer,
                                                       engine: Engine, database_url: str,
                                                       client: httpx.AsyncClient,
                                                       api: str) -> None:
    settings = settings_for(tmp_path, sim, database_url, api)
    clock = Clock(T0)
    job = ModelListWatch(settings, engine, lambda: client, {"P_KEY": KEY}, clock)
    assert sorted(job.access) == ["p"]  # q's candidate is not probed: not watched
    await job.run()
    sim.models.pop("old-model")  # the provider retires it
    clock.now = T0 + DAY
    await job.run()
    await job.run()
    (event,) = retired(engine)
    assert (event["candidate"], event["last_seen_at"], event["missing_since"]) == (
        "p/old-model", T0.isoformat(), (T0 + DAY).isoformat())
    # A restart (a new job on the same store) remembers: nothing is announced again.
    again = ModelListWatch(settings, engine, lambda: client, {"P_KEY": KEY}, clock)
    await again.run()
    assert len(retired(engine)) == 1


async def test_a_list_that_cannot_be_read_changes_nothing(tmp_path: Path, sim: SimServer,
                                                          engine: Engine, database_url: str,
                                                          client: httpx.AsyncClient) -> None:
    settings = settings_for(tmp_path, sim, database_url)
    job = ModelListWatch(settings, engine, lambda: client, {"P_KEY": KEY}, Clock(T0))
    await job.run()
    wrong = ModelListWatch(settings, engine, lambda: client, {"P_KEY": "sk-proj-WRONG0123456789"},
                           Clock(T0 + DAY))
    unset = ModelListWatch(settings, engine, lambda: client, {}, Clock(T0 + DAY))
    await wrong.run()  # 401: logged, nothing stored
    await unset.run()  # no key: not read
    with Session(engine) as session:
        rows = session.exec(select(ListedModelRow)).all()
    assert {(r.model, r.last_seen_at, r.gone_at) for r in rows} == {
        ("old-model", T0, None), ("other", T0, None)}


def test_disabled_or_without_probed_candidates_there_is_no_job(tmp_path: Path, sim: SimServer,
                                                               engine: Engine) -> None:
    off = settings_for(tmp_path, sim, "sqlite://").model_copy(
        update={"model_lists": settings_for(tmp_path, sim, "sqlite://").model_lists.model_copy(
            update={"enabled": False})})
    jobs = Watch(off, engine, CollectorRegistry(), lambda: None, {}).jobs()
    assert "model_lists" not in [j.name for j in jobs]
    daily = Watch(settings_for(tmp_path, sim, "sqlite://"), engine, CollectorRegistry(),
                  lambda: None, {}).jobs()
    (job,) = [j for j in daily if j.name == "model_lists"]
    assert (job.every, job.first_delay) == (86400.0, 30.0)


# --- the price poller sees an entry leave its list -------------------------------------------


PRICED = """
builtin_catalog: false
providers: {{openai: {{}}}}
candidates:
  openai/gpt-6-luna:
    provider: openai
    api: openai
    base_url: https://api.openai.com/v1
    model: gpt-6-luna
    price: {{source: litellm}}
pricing:
  sources: [{{format: litellm, url: "{base}/litellm.json"}}]
"""


@pytest.mark.integration  # a real HTTP server serves the list
async def test_the_price_poller_sees_an_entry_leave_its_list(tmp_path: Path, engine: Engine,
                                                             client: httpx.AsyncClient) -> None:
    server = SourceServer()
    full = json.loads(Route.fixture("litellm_model_prices_and_context_window.json").body)
    server.routes["/litellm.json"] = Route(json.dumps(full).encode())
    try:
        path = tmp_path / "fw.yaml"
        path.write_text(PRICED.format(base=server.base))
        watch = Watch(load_settings(path, environ={}), engine, CollectorRegistry(),
                      lambda: client, {})
        (poller,) = [p for _, p in watch.pricing]
        await poller.poll()
        assert retired(engine) == []
        del full["gpt-6-luna"]
        server.routes["/litellm.json"] = Route(json.dumps(full).encode())
        await poller.poll()
        await poller.poll()
    finally:
        server.close()
    (event,) = retired(engine)
    assert (event["candidate"], event["entry"], event["source"]) == (
        "openai/gpt-6-luna", "gpt-6-luna", "the litellm price list")


# --- a running daemon, its model list changed mid-run --------------------------------------


@pytest.mark.integration
async def test_a_running_daemon_announces_a_model_the_simulator_drops(
        tmp_path: Path, sim: SimServer, database_url: str) -> None:
    upgrade(database_url)  # PostgreSQL is upgraded by `factorwatch db upgrade` first
    daemon = Daemon(settings_for(tmp_path, sim, database_url, every="1s"),
                    environ={"P_KEY": KEY})
    stop = asyncio.Event()
    task = asyncio.create_task(daemon.run(stop))
    try:
        await asyncio.wait_for(daemon.started.wait(), 20)
        seen = await wait_for(lambda: rows_of(daemon.engine) >= 2)
        assert seen, "the first model list was never stored"
        sim.models.pop("old-model")
        assert await wait_for(lambda: bool(retired(daemon.engine))), "no model_retired"
        await asyncio.sleep(2.5)  # two more reads announce nothing new
        events = retired(daemon.engine)
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)
    assert [e["candidate"] for e in events] == ["p/old-model"]


def rows_of(engine: Engine) -> int:
    with Session(engine) as session:
        return len(session.exec(select(ListedModelRow)).all())


async def wait_for(condition: Any, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await asyncio.to_thread(condition):
            return True
        await asyncio.sleep(0.2)
    return False
