"""End to end: the daemon follows status pages in every format the simulator serves (Azure's
RSS feed, Flashduty, Checkly, Rootly, Statuspage), each from its own simulated provider, and
stores what each declares."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml
from sqlmodel import Session, select

from service.config import load_settings
from service.daemon import Daemon
from service.sim.behaviour import SimModel
from service.sim.server import SimServer
from service.sim.status_pages import FORMAT_PATHS, Incident, status_path
from service.store.models import Incident as Stored
from tests.test_watch_daemon import free_port, wait_for

pytestmark = pytest.mark.integration

# Each provider's page declares one incident from the start, and a second after 1.5 s that
# lasts 1.5 s: the daemon must see it open and then end when its page stops listing it.
INCIDENTS = (Incident("Elevated error rates", impact="major", start=0.0),
             Incident("Slow responses", impact="minor", start=1.5, duration=1.5))


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    server = SimServer({"m": SimModel()}, status_pages={f"p-{fmt}": INCIDENTS
                                                          for fmt in FORMAT_PATHS})
    await server.start()
    yield server
    await server.stop()


async def test_daemon_polls_every_status_format_from_the_sim(sim: SimServer,
                                                             tmp_path: Path) -> None:
    assert sim.origin
    providers = {f"p-{fmt}": {"status": [{"url": sim.origin + status_path(f"p-{fmt}", fmt),
                                          "format": fmt, "every": "1s",
                                          "components": ["API"]}]}
                 for fmt in FORMAT_PATHS}
    path = tmp_path / "fw.yaml"
    path.write_text(yaml.safe_dump({
        "builtin_catalog": False, "database": f"sqlite:///{tmp_path / 'fw.db'}",
        "listen": f"127.0.0.1:{free_port()}", "providers": providers}))
    daemon = Daemon(load_settings(path, environ={}), environ={})
    stop = asyncio.Event()
    task = asyncio.create_task(daemon.run(stop))

    def rows() -> list[tuple[str, str, str]]:
        with Session(daemon.engine) as session:
            return sorted((i.provider, i.title, i.status)
                          for i in session.exec(select(Stored)).all())

    async def all_seen_and_one_ended() -> bool:
        return len([r for r in rows() if r[2] == "resolved"]) == len(FORMAT_PATHS)

    try:
        await asyncio.wait_for(daemon.started.wait(), 15)
        await wait_for(all_seen_and_one_ended, timeout=20)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    assert rows() == sorted(
        [(f"p-{fmt}", "Elevated error rates", "investigating") for fmt in FORMAT_PATHS]
        + [(f"p-{fmt}", "Slow responses", "resolved") for fmt in FORMAT_PATHS])
