"""What Daemon._probe decides around a probe: what it logs (the candidate, not the model
name several candidates may share), and how it honours a 429's Retry-After."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.scheduler import ProbePlan
from service.sim.behaviour import SimModel
from service.sim.server import SimServer
from tests.probe_daemon import one_candidate_daemon


@pytest.fixture
def failing_sim() -> Iterator[SimServer]:
    server = SimServer({"m": SimModel(ttft_seconds=0.01, fault="status_500")}, seed=1)
    server.start_in_thread()
    yield server
    server.stop_thread()


async def test_a_failed_probe_is_logged_with_its_candidate_id(
        failing_sim: SimServer, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    daemon, rows = one_candidate_daemon(tmp_path, failing_sim.base_url,
                                        models={"east/m": "m", "west/m": "m"})
    try:
        await daemon._probe(ProbePlan("west/m", "latency", 3600))
    finally:
        assert daemon._probe_http is not None
        await daemon._probe_http.aclose()
    assert [row.candidate_id for row in rows] == ["west/m"]
    failed = [r.getMessage() for r in caplog.records if "failed" in r.getMessage()]
    assert failed == ["latency probe of west/m failed: http_5xx: HTTP 500: The server had "
                      "an error while processing your request."], failed
