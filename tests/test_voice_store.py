"""The voice probe's timings stored, queried, exported and shown; audio tokens at audio
prices (service/store/voice.py, service/probing/rows.py, metrics.py, the candidate API)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from probes.pricing import READERS
from probes.result import ErrorClass, ProbeResult
from service.app import create_app
from service.config import load_settings
from service.probing.metrics import ProbeMetrics
from service.probing.rows import probe_cost_usd, probe_row
from service.scoring.evidence import Price
from service.store.db import make_engine
from service.store.migrate import upgrade
from service.store.models import ProbeResultRow
from service.store.sync import sync_candidates
from service.store.voice import latest_voice, voice_medians
from tests.clock import T0
from tests.conftest import REAL_FIXTURES

REALTIME = Price(4.0, 16.0, audio_input_per_mtok=32.0, audio_output_per_mtok=64.0)


def spoken(at_minutes: int, first_speech: float, ok: bool = True) -> ProbeResult:
    if not ok:
        return ProbeResult.failure("voice", ErrorClass.TRUNCATED, "dropped",
                                   started_at=T0 + timedelta(minutes=at_minutes),
                                   first_audio_seconds=0.1)
    return ProbeResult(kind="voice", ok=True, started_at=T0 + timedelta(minutes=at_minutes),
                       total_seconds=1.5, first_audio_seconds=0.1,
                       first_speech_seconds=first_speech, first_transcript_seconds=0.3,
                       realtime_factor=3.5, playback_stall_seconds=0.0, input_tokens=16,
                       output_tokens=24, audio_input_tokens=0, audio_output_tokens=15,
                       extra={"audio_seconds": 1.5})


def test_litellm_prices_audio_tokens_of_realtime_models() -> None:
    body = (REAL_FIXTURES / "litellm_model_prices_and_context_window.json").read_bytes()
    prices = READERS["litellm"](body, ["gpt-realtime"])
    price = prices.quotes["gpt-realtime"]
    assert isinstance(price, Price)
    assert (price.input_per_mtok, price.output_per_mtok) == (4.0, 16.0)
    assert (price.audio_input_per_mtok, price.audio_output_per_mtok) == (32.0, 64.0)


def test_audio_tokens_cost_the_audio_prices() -> None:
    result = spoken(0, 0.4)
    # 16 text tokens in; out: 9 text, 15 audio
    assert probe_cost_usd(result, REALTIME) == (16 * 4 + 9 * 16 + 15 * 64) / 1e6
    # no audio prices: every token at the text prices
    assert probe_cost_usd(result, Price(4.0, 16.0)) == (16 * 4 + 24 * 16) / 1e6


def test_voice_timings_are_stored_and_queried(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        for minute, speech in ((0, 0.4), (1, 0.6), (2, 0.5)):
            session.add(probe_row("openai/gpt-realtime", "local", spoken(minute, speech),
                                  REALTIME))
        session.add(probe_row("openai/gpt-realtime", "local", spoken(3, 0.0, ok=False),
                              REALTIME))
    with Session(engine) as session:
        rows = session.exec(select(ProbeResultRow)).all()
        assert {row.first_audio_seconds for row in rows} == {0.1}
        latest = latest_voice(session, "openai/gpt-realtime")
        assert latest is not None and latest.first_speech_seconds == 0.5  # newest that worked
        assert (latest.realtime_factor, latest.audio_output_tokens) == (3.5, 15)
        medians = voice_medians(session, ["openai/gpt-realtime", "other"], T0,
                                T0 + timedelta(hours=1))
    assert list(medians) == ["openai/gpt-realtime"]
    assert medians["openai/gpt-realtime"].probes == 3
    assert medians["openai/gpt-realtime"].first_speech_seconds == 0.5
    assert medians["openai/gpt-realtime"].first_audio_seconds == 0.1


def test_voice_timings_are_exported() -> None:
    registry = CollectorRegistry()
    metrics = ProbeMetrics(registry)
    metrics.observe("openai/gpt-realtime", "openai", "local", spoken(0, 0.4))
    labels = {"candidate": "openai/gpt-realtime", "provider": "openai", "region": "local"}
    assert registry.get_sample_value("factorwatch_probe_first_speech_seconds_sum",
                                     labels) == 0.4
    assert registry.get_sample_value("factorwatch_probe_first_audio_seconds_count",
                                     labels) == 1
    assert registry.get_sample_value("factorwatch_probe_realtime_factor", labels) == 3.5
    assert registry.get_sample_value("factorwatch_probe_playback_stall_seconds", labels) == 0
    assert registry.get_sample_value("factorwatch_probe_ttft_seconds_count", labels) is None


CONFIG = """
builtin_catalog: false
database: {database}
providers:
  openai: {{}}
candidates:
  openai/gpt-realtime:
    provider: openai
    api: openai
    base_url: http://127.0.0.1:9/v1
    model: gpt-realtime
    price: {{input_per_mtok: 4, output_per_mtok: 16, audio_input_per_mtok: 32,
             audio_output_per_mtok: 64}}
    probes: {{voice: {{every: 5m}}}}
workloads:
  voice:
    volume: {{requests_per_month: 1000, input_tokens: 100, output_tokens: 100}}
    weights: {{latency: 1}}
"""


def test_the_candidate_api_shows_the_latest_voice_probe(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'voice.db'}"
    path = tmp_path / "factorwatch.yaml"
    path.write_text(CONFIG.format(database=url), encoding="utf-8")
    settings = load_settings(path, environ={})
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        sync_candidates(session, settings.candidates, T0)
        session.add(probe_row("openai/gpt-realtime", "local", spoken(0, 0.45), REALTIME))
    app = create_app(version="test", engine=engine, registry=CollectorRegistry(),
                     readiness=lambda: {"database": True}, settings=settings)
    with TestClient(app) as client:
        detail = client.get("/api/v1/candidates/openai/gpt-realtime").json()
    assert detail["voice"]["first_speech_seconds"] == 0.45
    assert detail["voice"]["first_audio_seconds"] == 0.1
    assert detail["voice"]["audio_output_tokens"] == 15
