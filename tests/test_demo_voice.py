"""The demo's voice workload: the real daemon probes the simulated fleet (voice probes over
OpenAI Realtime and Gemini Live, latency probes over HTTP), and the ranking between a
realtime model and a text pipeline is decided on first audio, as the scripted truth says:
sim-alpha answers first but stays silent for a second, sim-zeta speaks at once, sim-beta is
a text model behind a configured STT + TTS overhead (service/sim/demo.py)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, col, func, select

from service.daemon import Daemon
from service.rankings.evaluation import evaluate
from service.scoring.ranking import RankedCandidate
from service.sim.demo import demo_settings, start_fleet
from service.store.db import make_engine
from service.store.models import ProbeResultRow
from tests.stories import free_port

pytestmark = pytest.mark.integration

ALPHA, BETA, ZETA = "sim-alpha/swift-mini", "sim-beta/steady-pro", "sim-zeta/flash-ish"
WORKLOAD = "voice-agent"


def voiced_and_answered(url: str) -> bool:
    """Two successful voice probes each of alpha and zeta, five latency probes of beta."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            counts = dict(session.exec(
                select(ProbeResultRow.candidate_id, func.count())
                .where(ProbeResultRow.ok == True,  # noqa: E712
                       col(ProbeResultRow.kind).in_(["voice", "latency"]),
                       (ProbeResultRow.kind == "voice")
                       | (ProbeResultRow.candidate_id == BETA))
                .group_by(ProbeResultRow.candidate_id)).all())
    finally:
        engine.dispose()
    return counts.get(ALPHA, 0) >= 2 and counts.get(ZETA, 0) >= 2 and counts.get(BETA, 0) >= 5


async def test_the_demos_voice_workload_ranks_realtime_and_pipeline_on_first_audio(
        tmp_path: Path) -> None:
    server, base_url = start_fleet()
    try:
        settings, _ = demo_settings(base_url, tmp_path / "demo",
                                    listen=f"127.0.0.1:{free_port()}", environ={})
        stop = asyncio.Event()
        daemon = Daemon(settings, environ={})
        task = asyncio.create_task(daemon.run(stop))
        try:
            await asyncio.wait_for(daemon.started.wait(), 30)
            deadline = time.monotonic() + 60
            while not voiced_and_answered(settings.database):
                assert time.monotonic() < deadline, "the demo's probes did not arrive"
                await asyncio.sleep(1)
        finally:
            stop.set()
            await asyncio.wait_for(task, 60)
    finally:
        server.stop_thread()

    assert settings.workloads[WORKLOAD].latency_budget.measure == "first_audio"
    engine = make_engine(settings.database)
    now = datetime.now(UTC)
    by_measure: dict[str, dict[str, RankedCandidate]] = {}
    for measure in ("first_audio", "ttft"):
        variant = settings.model_copy(deep=True)
        variant.workloads[WORKLOAD].latency_budget.measure = measure  # type: ignore[assignment]
        with Session(engine) as session:
            [ranking] = evaluate(session, variant, now, [WORKLOAD])
        by_measure[measure] = {e.candidate: e for e in ranking.entries}
    engine.dispose()

    def latency(measure: str, candidate: str) -> float:
        score = by_measure[measure][candidate].factors["latency"].score
        assert score is not None, (measure, candidate)
        return score

    def rank(measure: str, candidate: str) -> int:
        found = by_measure[measure][candidate].rank
        assert found is not None, (measure, candidate)
        return found

    # By TTFT the realtime model that answers first leads both others on latency, and
    # ranks above the text pipeline.
    assert latency("ttft", ALPHA) > latency("ttft", ZETA)
    assert latency("ttft", ALPHA) > latency("ttft", BETA)
    assert rank("ttft", ALPHA) < rank("ttft", BETA)
    # By first audio its silence counts: the model that speaks at once and the text pipeline
    # are both ahead of it, and the pipeline now ranks above it.
    assert latency("first_audio", ZETA) > latency("first_audio", ALPHA)
    assert latency("first_audio", BETA) > latency("first_audio", ALPHA)
    assert rank("first_audio", BETA) < rank("first_audio", ALPHA)
    alpha = by_measure["first_audio"][ALPHA].factors["latency"]
    assert alpha.reason.startswith("first speech p99 ") and "voice probes" in alpha.reason
    assert alpha.evidence["first_audio_p99_seconds"] > 1.0  # 1 s of silence, then speech
    beta = by_measure["first_audio"][BETA].factors["latency"]
    assert beta.evidence["partly_configured"] is True
    assert beta.evidence["pipeline_overhead_seconds"] == 0.3
    assert "configured voice pipeline overhead 0.3s" in beta.reason
    # A text model with neither voice probes nor a pipeline has no first audio.
    assert by_measure["first_audio"]["sim-gamma/flaky-flash"].factors["latency"].score is None
