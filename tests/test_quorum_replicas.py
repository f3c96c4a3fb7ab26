"""Regional quorum for real: three `factorwatch run` processes in three regions on one
PostgreSQL, each region reaching the providers through its own simulator (its own network
path), quorum 2.

A candidate failing in one region is degraded with the region named; failing in two it is
down and the top-choice alert names both; when one of the two goes silent (its replica
dies), it is not counted as agreeing any more: degraded again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from service.sim.behaviour import SimModel
from service.sim.server import SimServer
from tests.test_replicas import free_port, postgres, query  # noqa: F401 (the fixture)

pytestmark = pytest.mark.integration

REGIONS = ("ap-south", "eu-west", "us-east")  # ap-south starts first: the lease holder
STATE_WINDOW = 6.0


@pytest.fixture
def sims() -> Iterator[dict[str, SimServer]]:
    servers = {region: SimServer({"a": SimModel(ttft_seconds=0.02, inter_token_seconds=0.001),
                                  "b": SimModel(ttft_seconds=0.3, inter_token_seconds=0.001)},
                                 seed=i)
               for i, region in enumerate(REGIONS)}
    for server in servers.values():
        server.start_in_thread()
    yield servers
    for server in servers.values():
        server.stop_thread()


def config(base_url: str) -> dict[str, object]:
    probes = {"latency": {"every": "0.5s", "timeout": "3s"}}
    return {
        "builtin_catalog": False,
        "scoring": {"every": "1s", "window": "10m",
                    "states": {"window": f"{STATE_WINDOW}s", "min_probes": 3, "quorum": 2}},
        "cluster": {"lease_ttl": "3s"},
        "alerts": {"flip": {"margin": 0.1, "confirmations": 1}},
        "providers": {"p": {"facts": {"founded_year": 2015}},
                      "q": {"facts": {"founded_year": 2015}}},
        "candidates": {
            "p/a": {"provider": "p", "api": "openai", "base_url": base_url, "model": "a",
                    "probes": probes},
            "q/b": {"provider": "q", "api": "openai", "base_url": base_url, "model": "b",
                    "probes": probes}},
        "workloads": {"chat": {
            "volume": {"requests_per_month": 1000, "input_tokens": 100, "output_tokens": 100},
            "latency_budget": {"ttft_p99": "1s"}, "weights": {"latency": 1}}},
    }


def start(region: str, path: Path, url: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACTORWATCH_")}
    env.update(FACTORWATCH_DATABASE=url, FACTORWATCH_LISTEN=f"127.0.0.1:{free_port()}",
               FACTORWATCH_REGION=region, FACTORWATCH_CLUSTER__REPLICA_ID=f"r-{region}")
    return subprocess.Popen([sys.executable, "-m", "service.cli.main", "run", "--config",
                             str(path)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def until(predicate: Callable[[], object], timeout: float, what: str) -> None:
    start_at = time.monotonic()
    while time.monotonic() - start_at < timeout:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"{what}: not within {timeout}s")


def latest_state(url: str) -> tuple[str, str] | None:
    rows = query(url, "SELECT r.state, r.state_reason FROM ranking_entry r JOIN evaluation e "
                 "ON e.id = r.evaluation_id WHERE r.candidate_id = 'p/a' "
                 "ORDER BY e.id DESC LIMIT 1")
    return (str(rows[0][0]), str(rows[0][1])) if rows else None


def flips(url: str) -> list[dict[str, object]]:
    rows = query(url, "SELECT payload FROM event WHERE type = 'top_choice_changed' "
                 "ORDER BY id")
    return [p if isinstance(p, dict) else json.loads(str(p)) for (p,) in rows]


def test_three_regions_quorum_two(postgres: str, sims: dict[str, SimServer],  # noqa: F811
                                  tmp_path: Path) -> None:
    url = postgres

    def reason() -> str:
        state = latest_state(url)
        return state[1] if state else ""

    paths = {}
    for region, sim in sims.items():
        paths[region] = tmp_path / f"{region}.yaml"
        paths[region].write_text(yaml.safe_dump(config(sim.base_url)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACTORWATCH_")}
    subprocess.run([sys.executable, "-m", "service.cli.main", "db", "upgrade", "--config",
                    str(paths["ap-south"])], env={**env, "FACTORWATCH_DATABASE": url},
                   check=True, capture_output=True, timeout=60)
    procs = {"ap-south": start("ap-south", paths["ap-south"], url)}
    try:
        until(lambda: query(url, "SELECT holder FROM lease") == [("r-ap-south",)], 30,
              "ap-south to hold the lease")
        for region in ("eu-west", "us-east"):
            procs[region] = start(region, paths[region], url)
        until(lambda: len(query(url, "SELECT DISTINCT region FROM probe_result")) == 3, 30,
              "probes from three regions")
        until(lambda: query(url, "SELECT candidate FROM top_choice") == [("p/a",)], 30,
              "p/a as the top choice")

        # eu-west's path to p/a fails: one region of three, under the quorum.
        sims["eu-west"].models["a"].fault = "status_503"
        until(lambda: reason().startswith("down in eu-west"), 30, "p/a down in eu-west")
        state = latest_state(url)
        assert state is not None and state[0] == "degraded" and state[1].startswith(
            "down in eu-west, serving in ap-south, us-east; quorum 2"), state
        assert flips(url) == []  # degraded still serves: the top choice stays

        # us-east's too: two regions agree, p/a is down and the alert names them.
        sims["us-east"].models["a"].fault = "status_503"
        until(lambda: flips(url), 30, "the top choice to leave p/a")
        [flip] = flips(url)
        assert (flip["old"], flip["new"], flip["cause"]) == ("p/a", "q/b", "unavailable")
        assert flip["old_state"] == "down" and flip["regions"] == ["eu-west", "us-east"]
        assert "down in eu-west, us-east (2 of 3 regions heard; quorum 2)" in str(flip["reason"])

        # us-east goes silent (its replica dies): once its probes leave the state window it
        # no longer counts as agreeing, and eu-west alone is not a quorum.
        procs["us-east"].send_signal(signal.SIGKILL)
        procs["us-east"].wait(10)
        until(lambda: "us-east" not in reason(), STATE_WINDOW + 20, "us-east out of it")
        state = latest_state(url)
        assert state is not None and state[0] == "degraded" and state[1].startswith(
            "down in eu-west, serving in ap-south; quorum 2"), state
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            proc.wait(60)
    for region, proc in procs.items():
        if region != "us-east":
            assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
