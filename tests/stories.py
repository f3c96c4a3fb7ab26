"""A harness for decision stories: the real daemon, simulated providers whose behaviour a
story changes as it runs, a real webhook sink, and what the store says was decided.

Everything runs at test speed (probes every 0.5 s, scoring every second, a 6 s state
window): the rules are the production ones, only the clocks are shorter.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml

from devtools.receiver import Receiver, always
from service.config import load_settings
from service.daemon import Daemon
from service.sim.behaviour import SimModel
from service.sim.server import SimServer
from service.sim.status_pages import PRICES_PATH, litellm_prices
from service.store.db import make_engine
from service.store.migrate import upgrade
from service.store.models import ProbeResultRow
from service.store.rollup import apply_rollups

SCORING_EVERY = 1.0
CONFIRMATIONS = 3
STATE_WINDOW = 6.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Candidate:
    """One simulated candidate: its behaviour (mutable while the story runs) and price."""

    model: SimModel
    price: tuple[float, float] = (1.0, 2.0)  # USD per million tokens in, out
    listed: bool = False  # priced from the simulated LiteLLM list rather than statically
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass
class Decision:
    """A top-choice change as the store saved it."""

    at: str
    old: str | None
    new: str | None
    cause: str
    reason: str
    payload: dict[str, Any]


class Story:
    def __init__(self, tmp_path: Path, candidates: dict[str, Candidate],
                 workloads: dict[str, dict[str, Any]], probe_every: str = "0.5s",
                 history: dict[str, int] | None = None,
                 flip: dict[str, float] | None = None) -> None:
        self.tmp_path = tmp_path
        self.candidates = candidates
        self.sim = SimServer({name: c.model for name, c in candidates.items()}, seed=7,
                             price_list=litellm_prices({
                                 name: (*c.price, None) for name, c in candidates.items()
                                 if c.listed}))
        self.hook = Receiver(always(200))
        self.workloads = workloads
        self.probe_every = probe_every
        self.flip = {"margin": 0.1, "confirmations": CONFIRMATIONS, "confidence": 0.9,
                     **(flip or {})}
        self.history = history or {}  # candidate -> successful probes, one a minute, before now
        self.db = tmp_path / "story.db"
        self.listen = f"127.0.0.1:{free_port()}"
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def config(self) -> dict[str, Any]:
        (self.tmp_path / "hook-url").write_text(self.hook.url)
        (self.tmp_path / "hook-secret").write_text("story-secret")
        origin = self.sim.base_url.removesuffix("/v1")
        providers, candidates = {}, {}
        for name, c in self.candidates.items():
            providers[f"p-{name}"] = {"facts": {"founded_year": 2015, **c.facts}}
            price: dict[str, Any] = {"input_per_mtok": c.price[0], "output_per_mtok": c.price[1]}
            if c.listed:
                price = {"source": "litellm", "key": name, **price}
            candidates[f"sim/{name}"] = {
                "provider": f"p-{name}", "api": "openai", "base_url": self.sim.base_url,
                "model": name, "price": price,
                "probes": {"latency": {"every": self.probe_every, "timeout": "5s"}}}
        return {
            "builtin_catalog": False, "database": f"sqlite:///{self.db}",
            "listen": self.listen,
            "scoring": {"every": f"{SCORING_EVERY}s", "window": "10m",
                        "states": {"window": f"{STATE_WINDOW}s", "min_probes": 3}},
            "providers": providers, "candidates": candidates, "workloads": self.workloads,
            "pricing": {"sources": [{"format": "litellm", "url": f"{origin}{PRICES_PATH}",
                                     "every": "1s"}] if self.sim.price_list else []},
            "alerts": {"flip": self.flip,
                       "delivery": {"every": "0.5s"},
                       "sinks": [{"type": "webhook", "name": "story",
                                  "webhook_url_file": str(self.tmp_path / "hook-url"),
                                  "secret_file": str(self.tmp_path / "hook-secret"),
                                  "group_wait": "0s", "repeat_interval": "1s"}]}}

    async def __aenter__(self) -> Story:
        self.sim.start_in_thread()
        path = self.tmp_path / "story.yaml"
        path.write_text(yaml.safe_dump(self.config(), sort_keys=False))
        settings = load_settings(path, environ={})
        self._backfill(settings.database)
        self.daemon = Daemon(settings, environ={})
        self._task = asyncio.create_task(self.daemon.run(self._stop))
        await asyncio.wait_for(self.daemon.started.wait(), 30)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        if self._task is not None:
            await asyncio.wait_for(self._task, 60)
        self.sim.stop_thread()
        self.hook.stop()

    def _backfill(self, url: str) -> None:
        """A record from before the story: successful latency probes, one a minute."""
        if not self.history:
            return
        upgrade(url)
        now = datetime.now(UTC)
        rows = [ProbeResultRow(candidate_id=f"sim/{name}", kind="latency", ok=True,
                               started_at=now - timedelta(minutes=count - i), ttft_seconds=
                               self.candidates[name].model.ttft_seconds, total_seconds=0.5)
                for name, count in self.history.items() for i in range(count)]
        engine = make_engine(url)
        try:
            with engine.begin() as conn:
                conn.execute(ProbeResultRow.__table__.insert(),  # type: ignore[attr-defined]
                             [r.model_dump(exclude={"id"}) for r in rows])
                apply_rollups(conn, rows)
        finally:
            engine.dispose()

    # --- what the store says ------------------------------------------------------------

    def _query(self, sql: str, *args: object) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.db) as db:
            return db.execute(sql, args).fetchall()

    def top_choice(self, workload: str) -> str | None:
        rows = self._query("SELECT candidate FROM top_choice WHERE workload = ?", workload)
        return rows[0][0] if rows else None

    def decisions(self, workload: str) -> list[Decision]:
        out = []
        for (payload,) in self._query("SELECT payload FROM event WHERE type = "
                                      "'top_choice_changed' ORDER BY id"):
            p = json.loads(payload)
            if p["workload"] == workload:
                out.append(Decision(p["evaluated_at"], p["old"], p["new"], p["cause"],
                                    p["reason"], p))
        return out

    def evaluations_since(self, workload: str, since_iso: str) -> int:
        return self._query("SELECT count(*) FROM evaluation WHERE workload = ? AND "
                           "evaluated_at > ?", workload, since_iso.replace("T", " ")[:26])[0][0]

    def states(self, workload: str) -> list[tuple[str, dict[str, str]]]:
        """Per saved evaluation, oldest first: (evaluated_at, {candidate: state})."""
        rows = self._query(
            "SELECT e.evaluated_at, r.candidate_id, r.state FROM evaluation e JOIN "
            "ranking_entry r ON r.evaluation_id = e.id WHERE e.workload = ? ORDER BY e.id",
            workload)
        out: dict[str, dict[str, str]] = {}
        for at, candidate, state in rows:
            out.setdefault(at, {})[candidate] = state
        return list(out.items())

    def sent(self, event_type: str) -> list[dict[str, Any]]:
        """Events of this type the webhook received."""
        return [e for r in self.hook.requests for e in r.json().get("events", [])
                if e.get("type") == event_type]

    async def until(self, predicate: Callable[[], bool | Awaitable[bool]],
                    timeout: float = 30.0, what: str = "condition") -> float:
        """Wait for the predicate; return the seconds it took."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            result = predicate()
            if isinstance(result, Awaitable):
                result = await result
            if result:
                return time.monotonic() - start
            await asyncio.sleep(0.2)
        raise AssertionError(f"{what} not reached within {timeout:g} s")

    async def ranking(self, workload: str, missing_ok: bool = False) -> dict[str, Any]:
        """The latest saved ranking; {} before the first when `missing_ok`."""
        async with httpx.AsyncClient(base_url=f"http://{self.listen}", timeout=10) as http:
            response = await http.get(f"/api/v1/workloads/{workload}/ranking")
            if missing_ok and response.status_code == 404:
                return {}
            response.raise_for_status()
            doc: dict[str, Any] = response.json()
            return doc

    async def metrics(self) -> str:
        async with httpx.AsyncClient(base_url=f"http://{self.listen}", timeout=10) as http:
            return (await http.get("/metrics")).text

    async def run_for(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
