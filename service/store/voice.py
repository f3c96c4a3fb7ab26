"""The voice probe's stored timings (probe_result columns, docs/architecture.md#voice):
the latest of a candidate, and their medians over a window, for views and for scoring."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from service.store.models import ProbeResultRow

KIND = "voice"
TIMINGS = ("first_audio_seconds", "first_speech_seconds", "first_transcript_seconds",
           "realtime_factor", "playback_stall_seconds")


def latest_voice(session: Session, candidate: str) -> ProbeResultRow | None:
    """The candidate's newest successful voice probe."""
    return session.exec(
        select(ProbeResultRow)
        .where(ProbeResultRow.candidate_id == candidate, ProbeResultRow.kind == KIND,
               ProbeResultRow.ok == True)  # noqa: E712 (SQL, not Python)
        .order_by(col(ProbeResultRow.started_at).desc()).limit(1)).first()


@dataclass(frozen=True)
class VoiceMedians:
    probes: int  # successful voice probes in the window
    first_audio_seconds: float | None
    first_speech_seconds: float | None
    first_transcript_seconds: float | None
    realtime_factor: float | None
    playback_stall_seconds: float | None


def voice_medians(session: Session, ids: Sequence[str], since: datetime, until: datetime
                  ) -> dict[str, VoiceMedians]:
    """Per candidate, the median of each voice timing over its successful voice probes
    started in [since, until]; candidates without one are absent."""
    rows = session.exec(
        select(ProbeResultRow)
        .where(col(ProbeResultRow.candidate_id).in_(list(ids)), ProbeResultRow.kind == KIND,
               ProbeResultRow.ok == True,  # noqa: E712
               col(ProbeResultRow.started_at) >= since,
               col(ProbeResultRow.started_at) <= until)).all()
    by_candidate: dict[str, list[ProbeResultRow]] = {}
    for row in rows:
        by_candidate.setdefault(row.candidate_id, []).append(row)
    return {cid: VoiceMedians(len(found), *(_median(found, name) for name in TIMINGS))
            for cid, found in by_candidate.items()}


def voice_timings(session: Session, ids: Sequence[str], since: datetime, until: datetime,
                  name: str) -> dict[str, list[float]]:
    """Per candidate, one timing (a TIMINGS name) of each successful voice probe started in
    [since, until] that has it; candidates without one are absent. Voice probes run every few
    minutes, so a scoring window holds tens of rows: read raw, no rollup needed."""
    column = getattr(ProbeResultRow, name)
    rows = session.exec(
        select(ProbeResultRow.candidate_id, column)
        .where(col(ProbeResultRow.candidate_id).in_(list(ids)), ProbeResultRow.kind == KIND,
               ProbeResultRow.ok == True,  # noqa: E712
               col(column).is_not(None),
               col(ProbeResultRow.started_at) >= since,
               col(ProbeResultRow.started_at) <= until)).all()
    out: dict[str, list[float]] = {}
    for candidate, value in rows:
        out.setdefault(candidate, []).append(float(value))
    return out


def _median(rows: list[ProbeResultRow], name: str) -> float | None:
    values = [v for row in rows if (v := getattr(row, name)) is not None]
    return statistics.median(values) if values else None
