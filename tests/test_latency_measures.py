"""The latency factor scores the timing its workload names (`latency_budget.measure`): TTFT,
the first answer token, or the first non-silent audio; a text pipeline's first audio is its
measured first answer plus a configured overhead (service/scoring/performance.py)."""

from __future__ import annotations

import typing
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session

from probes.result import ProbeResult
from service.config.models import LatencyBudget
from service.probing.rows import probe_row
from service.rankings.evidence import CandidateFacts, Windows, gather
from service.scoring.cost import Volume
from service.scoring.evidence import (
    CandidateEvidence,
    LatencyStats,
    TimingStats,
    VoicePipelineFacts,
)
from service.scoring.factors import WorkloadSpec
from service.scoring.performance import LATENCY_MEASURES, score_latency
from service.scoring.ranking import gate
from service.store.rollup import apply_rollups
from tests.clock import T0 as NOW

# A reasoning model: its first token (thinking) long before its first answer token.
THINKER = CandidateEvidence(
    "thinker", "p", 3600.0, latency=LatencyStats(200, 0.2, 0.3, 0.4),
    first_answer=TimingStats(200, 1.0, 1.4, 1.6))
# A realtime voice model: 36 voice probes, its speech after a stretch of silence.
SPEAKER = CandidateEvidence("speaker", "p", 3600.0,
                            first_speech=TimingStats(36, 1.25, 1.35, 1.41))
# A text model spoken through STT and TTS whose overhead is configured.
PIPELINE = CandidateEvidence(
    "pipeline", "p", 3600.0, latency=LatencyStats(120, 0.3, 0.4, 0.45),
    first_answer=TimingStats(120, 0.3, 0.4, 0.45),
    voice_pipeline=VoicePipelineFacts(0.35, "https://example.com/our-stt-and-tts"))


def workload(measure: str, budget: float | None = 0.8, **kw: object) -> WorkloadSpec:
    return WorkloadSpec("voice", Volume(1, 1, 1), {"latency": 1.0}, ttft_budget_seconds=budget,
                        latency_measure=measure, **kw)  # type: ignore[arg-type]


def test_ttft_is_the_default_and_scores_as_before() -> None:
    default = score_latency(THINKER, WorkloadSpec("w", Volume(1, 1, 1), {"latency": 1.0},
                                                  ttft_budget_seconds=0.8), NOW)
    assert default == score_latency(THINKER, workload("ttft"), NOW)
    assert default.reason == "TTFT p99 0.400s is 0.50x the 0.8s budget (200 probes)"
    assert default.score == 4.0
    assert default.evidence["ttft_p99_seconds"] == 0.4
    assert default.evidence["ttft_p99_budget_seconds"] == 0.8
    assert default.evidence["measure"] == "ttft"


def test_first_answer_scores_the_answer_not_the_thinking() -> None:
    score = score_latency(THINKER, workload("first_answer"), NOW)
    assert score.reason == "first answer p99 1.600s is 2.00x the 0.8s budget (200 probes)"
    assert score.score == 2.0  # TTFT alone would say 4
    assert score.evidence["first_answer_p99_seconds"] == 1.6
    assert score.evidence["first_answer_p99_budget_seconds"] == 0.8
    assert "ttft_p99_seconds" not in score.evidence
    low, high = score.evidence["first_answer_p99_low_seconds"], score.evidence[
        "first_answer_p99_high_seconds"]
    assert low < 1.6 < high
    assert score.low is not None and score.high is not None
    assert score.low < score.score < score.high


def test_first_audio_scores_the_first_speech_of_voice_probes() -> None:
    score = score_latency(SPEAKER, workload("first_audio"), NOW)
    assert score.reason == "first speech p99 1.410s is 1.76x the 0.8s budget (36 voice probes)"
    assert score.evidence["first_audio_p99_seconds"] == 1.41
    assert score.evidence["first_audio_p99_budget_seconds"] == 0.8
    assert score.evidence["samples"] == 36 and score.evidence["measure"] == "first_audio"
    assert "partly_configured" not in score.evidence
    # the interval: 36 probes pin a p99 down loosely, and the score's interval says so
    assert score.low is not None and score.high is not None
    assert score.low < score.score < score.high  # type: ignore[operator]


def test_a_text_pipelines_first_audio_is_its_first_answer_plus_the_configured_overhead(
) -> None:
    score = score_latency(PIPELINE, workload("first_audio"), NOW)
    assert score.reason == (
        "first audio p99 0.800s (measured first answer 0.450s + configured voice pipeline "
        "overhead 0.35s) is 1.00x the 0.8s budget (120 probes)")
    assert score.score == 3.0
    ev = score.evidence
    assert ev["first_audio_p99_seconds"] == 0.8 and ev["first_answer_p99_seconds"] == 0.45
    assert ev["pipeline_overhead_seconds"] == 0.35 and ev["partly_configured"] is True
    assert ev["pipeline_overhead_source"] == "https://example.com/our-stt-and-tts"
    # the overhead is exact: the interval is the first answer's, shifted by it
    plain = score_latency(replace(PIPELINE, voice_pipeline=None), workload("first_answer"), NOW)
    assert ev["first_audio_p99_low_seconds"] == pytest.approx(
        plain.evidence["first_answer_p99_low_seconds"] + 0.35)
    assert ev["first_audio_p99_high_seconds"] == pytest.approx(
        plain.evidence["first_answer_p99_high_seconds"] + 0.35)


def test_measured_voice_wins_over_a_configured_pipeline() -> None:
    both = replace(PIPELINE, first_speech=SPEAKER.first_speech)
    assert score_latency(both, workload("first_audio"), NOW).reason.startswith(
        "first speech p99 1.410s")


@pytest.mark.parametrize(("ev", "measure", "why"), [
    pytest.param(replace(THINKER, voice_pipeline=None), "first_audio",
                 "no successful voice probe in the window, and no voice_pipeline overhead "
                 "configured to speak its text answers", id="text-model-no-pipeline"),
    pytest.param(replace(PIPELINE, first_answer=None), "first_audio",
                 "no successful latency probe with a first answer token in the window (its "
                 "voice_pipeline adds to the first answer)", id="pipeline-without-answers"),
    pytest.param(SPEAKER, "first_answer",
                 "no successful latency probe with a first answer token in the window",
                 id="voice-only-under-first-answer"),
    pytest.param(SPEAKER, "ttft", "no successful latency probe in the window",
                 id="voice-only-under-ttft"),
])
def test_no_timing_for_the_measure_is_missing(ev: CandidateEvidence, measure: str,
                                              why: str) -> None:
    score = score_latency(ev, workload(measure), NOW)
    assert (score.score, score.source, score.reason) == (None, "missing", why)
    assert score.evidence == {"measure": measure}


def test_without_a_budget_the_seconds_scale_reads_the_measure() -> None:
    score = score_latency(SPEAKER, workload("first_audio", budget=None), NOW)
    assert score.reason == "first speech p99 1.410s (36 voice probes, no budget set)"


def test_the_p99_ceiling_gate_reads_the_workloads_measure() -> None:
    wl = workload("first_audio", max_ttft_p99_seconds=1.0)
    assert gate(SPEAKER, wl) == (["first speech p99 1.410s over the ceiling 1s"], [])
    assert gate(PIPELINE, wl) == ([], [])
    assert gate(replace(THINKER, voice_pipeline=None), wl)[1] == [
        "max_ttft_p99 not checked: no successful voice probe in the window, and no "
        "voice_pipeline overhead configured to speak its text answers"]
    assert gate(THINKER, workload("ttft", max_ttft_p99_seconds=1.0)) == ([], [])


@st.composite
def speech(draw: st.DrawFn) -> TimingStats:
    p50 = draw(st.floats(0.05, 5.0))
    p95 = p50 * draw(st.floats(1.0, 3.0))
    return TimingStats(draw(st.integers(1, 500)), p50, p95, p95 * draw(st.floats(1.0, 2.0)))


@settings(max_examples=80, deadline=None, derandomize=True, database=None)
@given(speech(), st.floats(1.0, 4.0), st.sampled_from([0.8, None]))
def test_a_larger_first_speech_never_scores_higher(stats: TimingStats, slower: float,
                                                   budget: float | None) -> None:
    wl = workload("first_audio", budget=budget)
    worse = TimingStats(stats.samples, stats.p50 * slower, stats.p95 * slower,
                        stats.p99 * slower)
    before = score_latency(replace(SPEAKER, first_speech=stats), wl, NOW)
    after = score_latency(replace(SPEAKER, first_speech=worse), wl, NOW)
    assert before.score is not None and after.score is not None
    assert after.score <= before.score


def spoken(candidate: str, minute: int, first_speech: float) -> ProbeResult:
    return ProbeResult(kind="voice", ok=True, started_at=NOW - timedelta(minutes=minute),
                       total_seconds=2.0, first_audio_seconds=0.1,
                       first_speech_seconds=first_speech)


def answered(minute: int, ttft: float, first_answer: float) -> ProbeResult:
    return ProbeResult(kind="latency", ok=True, started_at=NOW - timedelta(minutes=minute),
                       total_seconds=2.0, ttft_seconds=ttft, first_answer_seconds=first_answer)


def test_gather_reads_voice_probes_and_first_answers_of_the_window(engine: Engine) -> None:
    rows = ([probe_row("rt", "local", spoken("rt", m, 1.2 + m / 100), None)
             for m in range(1, 13)]
            + [probe_row("rt", "local", spoken("rt", 90, 9.0), None)]  # before the window
            + [probe_row("txt", "local", answered(m, 0.2, 0.9), None) for m in range(1, 21)])
    with Session(engine) as session, session.begin():
        session.add_all(rows)
        session.flush()
        apply_rollups(session.connection(), rows)
    pipeline = VoicePipelineFacts(0.4, "our STT + TTS")
    with Session(engine) as session:
        ev = {e.candidate: e for e in gather(
            session, [CandidateFacts("rt", "p", {}, None),
                      CandidateFacts("txt", "p", {}, None, voice_pipeline=pipeline)],
            NOW, Windows(scoring_seconds=3600.0, rate_seconds=3600.0))}
    assert ev["rt"].first_speech is not None and ev["rt"].first_speech.samples == 12
    assert ev["rt"].first_speech.p50 == pytest.approx(1.265, rel=0.02)
    assert ev["rt"].first_speech.p99 == pytest.approx(1.32, rel=0.02)
    assert ev["rt"].first_answer is None and ev["txt"].first_speech is None
    assert ev["txt"].first_answer is not None and ev["txt"].first_answer.samples == 20
    assert ev["txt"].first_answer.p99 == pytest.approx(0.9, rel=0.02)
    assert ev["txt"].voice_pipeline == pipeline


def test_the_config_offers_exactly_the_measures_scoring_knows() -> None:
    annotation = LatencyBudget.model_fields["measure"].annotation
    assert typing.get_args(annotation) == LATENCY_MEASURES
