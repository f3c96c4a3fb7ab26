"""kill -9 at random points while delivering: nothing lost, nothing repeated but the one case.

A sender process is killed again and again while it delivers (to a receiver that records
every idempotency key) and while new events arrive. A message may repeat only when the
process died between sending it and recording that it was sent: then it repeats with the
same key and the same events. So: every event arrives; no event arrives in two different
messages; repeats are no more than kills.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest
from sqlmodel import Session, select

from devtools.receiver import Receiver, always
from service.store.db import make_engine
from service.store.migrate import upgrade
from service.store.models import AlertDelivery
from tests.alert_helpers import add_event

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[1]

# Imports once, then forks a fresh sender for every "go" line and prints its pid: a restart
# costs a fork, not a second of imports. Children are reaped by SIGCHLD being ignored.
ZYGOTE = """
import asyncio, os, signal, sys, httpx
from service.alerts.sender import AlertSender
from service.config.alerts import AlertsConfig
from service.store.db import make_engine

db, url = sys.argv[1], sys.argv[2]
config = AlertsConfig.model_validate({
    "sinks": [{"type": "webhook", "webhook_url_env": "U", "secret_env": "S", "group_wait": 0,
               "max_group": 3, "timeout": "150ms"}],
    "delivery": {"claim_timeout": "350ms", "retry_initial": "50ms", "retry_max": "100ms"}})

async def deliver_forever():
    sender = AlertSender(make_engine(db), config, {}, {"U": url, "S": "k"})
    async with httpx.AsyncClient() as client:
        while True:
            await sender.run_once(client)
            await asyncio.sleep(0.01)

signal.signal(signal.SIGCHLD, signal.SIG_IGN)
for line in sys.stdin:
    pid = os.fork()
    if pid == 0:
        asyncio.run(deliver_forever())
    print(pid, flush=True)
"""


class Senders:
    """Starts sender processes (forked from one that has imported everything)."""

    def __init__(self, db: str, url: str) -> None:
        self.zygote = subprocess.Popen(
            [sys.executable, "-c", ZYGOTE, db, url], cwd=REPO, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(REPO)})

    def start(self) -> int:
        assert self.zygote.stdin is not None and self.zygote.stdout is not None
        self.zygote.stdin.write("go\n")
        self.zygote.stdin.flush()
        return int(self.zygote.stdout.readline())

    def close(self) -> None:
        self.zygote.kill()
        self.zygote.wait()


def all_sent(db: str) -> bool:
    engine = make_engine(db)
    try:
        with Session(engine) as session:
            rows = session.exec(select(AlertDelivery.status)).all()
    finally:
        engine.dispose()
    return bool(rows) and set(rows) == {"sent"}


def test_kill_9_during_delivery_loses_nothing_and_repeats_only_the_unrecorded(
        tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'fw.db'}"
    upgrade(db)
    engine = make_engine(db)
    rng = random.Random(os.getpid())
    total, kills = 0, 0
    with Receiver(always(200), delay=0.08) as rx:
        senders = Senders(db, rx.url)
        try:
            for _wave in range(8):
                for _ in range(6):
                    add_event(engine, "price_change", f"e{total}", candidate=f"c{total}")
                    total += 1
                pid = senders.start()
                time.sleep(rng.uniform(0.05, 0.5))
                os.kill(pid, signal.SIGKILL)
                kills += 1
            pid = senders.start()  # the last one is left to finish
            deadline = time.monotonic() + 20
            while not all_sent(db) and time.monotonic() < deadline:
                time.sleep(0.1)
            os.kill(pid, signal.SIGKILL)
        finally:
            senders.close()
    engine.dispose()
    assert all_sent(db)
    messages: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for request in rx.requests:
        ids = tuple(e["id"] for e in request.json()["events"])
        messages[request.headers["idempotency-key"]].append(ids)
    keys_of: dict[str, set[str]] = defaultdict(set)
    for key, copies in messages.items():
        assert len(set(copies)) == 1, f"{key} carried different events"
        for event_id in copies[0]:
            keys_of[event_id].add(key)
    assert set(keys_of) == {f"e{i}" for i in range(total)}  # nothing lost
    assert all(len(keys) == 1 for keys in keys_of.values())  # never in two messages
    repeats = len(rx.requests) - len(messages)
    assert repeats <= kills
