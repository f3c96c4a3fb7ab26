"""Plain-text rendering of a ranking for the terminal (`factorwatch score`, `explain`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from service.scoring.ranking import RankedCandidate, Ranking

TOP_REASONS = 2
MOVED = 0.005  # a score change below this (half the shown precision) did not move
COUNTED_AS = {"worst": "counted at the lowest score, 1", "prior": "counted at 3",
              "drop": "left out of the composite"}


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _interval(low: float | None, high: float | None) -> str:
    return "" if low is None or high is None else f"[{low:.2f}, {high:.2f}]"


def _scored(score: float | None, low: float | None, high: float | None) -> str:
    """'4.20 [3.90, 4.50]', '5.00' for an exact score, 'missing' without one."""
    if score is None:
        return "missing"
    return _fmt(score) + (f" {_interval(low, high)}" if (low, high) != (score, score)
                          and low is not None else "")


def top_reasons(entry: RankedCandidate, count: int = TOP_REASONS) -> list[str]:
    """The factors that weigh most in this candidate's composite, with their one-line reason."""
    weighted = [(entry.weights.get(name, 0.0) * (f.score or 0.0), name, f)
                for name, f in entry.factors.items()
                if f.score is not None and entry.weights.get(name, 0.0) > 0]
    weighted.sort(key=lambda t: (-t[0], t[1]))
    return [f"{name} {f.score:.1f}: {f.reason}" for _, name, f in weighted[:count]]


@dataclass(frozen=True)
class Column:
    heading: str
    align: str = "<"  # '<' left, '>' right; the last column is never padded
    gap: str = "  "  # before the column


# A column is added by naming it here and giving its cell in _cells().
COLUMNS = (Column("rank", ">", gap=""), Column("", gap=""),  # '=': tied with the one above
           Column("candidate", gap=" "), Column("state"), Column("composite", ">"),
           Column("", gap=""),  # the partial marker, right after the composite
           Column("interval", gap=" "), Column("why"))


def _cells(entry: RankedCandidate) -> list[str]:
    why = ("GATED: " + "; ".join(entry.gate_reasons) if entry.gated
           else " | ".join(top_reasons(entry)) or "no evidence")
    return [str(entry.rank) if entry.rank is not None else "-", "=" if entry.tied else "",
            entry.candidate, entry.state, _fmt(entry.composite), "*" if entry.partial else "",
            _interval(entry.composite_low, entry.composite_high), why]


def table(rows: Sequence[Sequence[str]]) -> list[str]:
    """The headings and `rows` under COLUMNS, each column as wide as its widest cell."""
    all_rows = [[c.heading for c in COLUMNS], *rows]
    widths = [max(len(row[i]) for row in all_rows) for i in range(len(COLUMNS) - 1)] + [0]
    return ["".join(f"{c.gap}{cell:{c.align}{width}}"
                    for c, cell, width in zip(COLUMNS, row, widths, strict=True)).rstrip()
            for row in all_rows]


def render_ranking(ranking: Ranking, top_choice: str | None = None,
                   weights: dict[str, float] | None = None) -> str:
    """The header, the table and its footnote. `top_choice`: what to say of the announced
    top choice (None: not known for that moment, left out); `weights`: the what-if weights
    that replaced configured ones."""
    facts = [f"evaluated {ranking.evaluated_at:%Y-%m-%d %H:%M:%S}Z",
             f"rank 1: {ranking.leader or 'none'}"]
    if top_choice is not None:
        facts.append(f"top choice: {top_choice}")
    lines = [f"workload {ranking.workload}  ({', '.join(facts)})"]
    if weights:
        given = ", ".join(f"{name}={value:g}" for name, value in weights.items())
        lines.append(f"what-if: weights overridden ({given}); the stored ranking is unchanged")
    rows: list[list[str]] = []
    for entry in ranking.entries:
        rows.append(_cells(entry))
        rows.extend([*[""] * (len(COLUMNS) - 1), f"note: {note}"] for note in entry.notes)
    lines.extend(table(rows))
    lines.append(f"interval: {ranking.confidence:.0%} confidence; states: docs/scoring.md")
    if any(e.tied for e in ranking.entries):
        lines.append("= statistically tied with the candidate ranked just above")
    if any(e.partial for e in ranking.entries):
        counted = COUNTED_AS.get(ranking.missing_policy, ranking.missing_policy)
        lines.append(f"* partial: weighted factors without evidence ({counted}); "
                     "`factorwatch explain` names them")
    for entry in ranking.entries:
        if entry.state in ("down", "throttled", "degraded"):
            lines.append(f"{entry.candidate} is {entry.state}: {entry.state_reason}")
    return "\n".join(lines)


def render_explanation(ranking: Ranking, entry: RankedCandidate,
                       baseline: dict[str, Any] | None = None) -> str:
    """Every factor of one candidate: score and interval, weight, source, reason, evidence;
    first what moved since `baseline` (a saved ranking document), unchanged factors left out."""
    status = (f"rank {entry.rank}" + (" (tied with the one above)" if entry.tied else "")
              if entry.rank is not None
              else "gated: " + "; ".join(entry.gate_reasons) if entry.gated else "not ranked")
    lines = [f"{entry.candidate} for {ranking.workload}: composite "
             f"{_scored(entry.composite, entry.composite_low, entry.composite_high)}"
             f"{' (partial)' if entry.partial else ''}, {status}",
             f"state: {entry.state} ({entry.state_reason})",
             f"evaluated {ranking.evaluated_at:%Y-%m-%d %H:%M:%S}Z; intervals at "
             f"{ranking.confidence:.0%} confidence"]
    if entry.missing:
        counted = COUNTED_AS.get(ranking.missing_policy, ranking.missing_policy)
        lines.append(f"no evidence: {', '.join(entry.missing)} ({counted})")
    lines.extend(f"note: {n}" for n in entry.notes)
    changes = moved(entry, baseline)
    if baseline is not None:
        lines.append(f"\nmoved since {baseline['evaluated_at'][:19]}Z (when the top choice "
                     "was announced):" + ("" if changes else " nothing"))
        lines.extend(f"  {c['factor']}: {_scored(*c['was'])} -> {_scored(*c['now'])}"
                     for c in changes)
    for name, factor in entry.factors.items():
        weight = entry.weights.get(name, 0.0)
        interval = factor.interval or (None, None)
        lines.append(f"\n{name}: {_scored(factor.score, *interval)}  weight {weight:g}  "
                     f"({factor.source})")
        lines.append(f"  {factor.reason}")
        lines.extend(f"  {key}: {_evidence_value(value)}"
                     for key, value in factor.evidence.items() if value is not None)
    return "\n".join(lines)


def moved(entry: RankedCandidate, baseline: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The composite and the factors whose score moved since the baseline document, each
    as {factor, was: (score, low, high), now: (score, low, high)}; the rest left out."""
    if baseline is None:
        return []
    before = next((e for e in baseline.get("ranking", []) if e["candidate"] == entry.candidate),
                  None)
    if before is None:
        return []
    now: dict[str, tuple[float | None, float | None, float | None]] = {
        "composite": (entry.composite, entry.composite_low, entry.composite_high)}
    was = {"composite": (before.get("composite"), before.get("composite_low"),
                         before.get("composite_high"))}
    for name, factor in entry.factors.items():
        interval = factor.interval or (None, None)
        now[name] = (factor.score, *interval)
        old = before.get("factors", {}).get(name, {})
        was[name] = (old.get("score"), old.get("low"), old.get("high"))
    return [{"factor": name, "was": was[name], "now": value} for name, value in now.items()
            if _differs(was[name][0], value[0])]


def _differs(a: float | None, b: float | None) -> bool:
    return (a is None) != (b is None) or (a is not None and b is not None
                                          and abs(a - b) >= MOVED)


def _evidence_value(value: object) -> str:
    if isinstance(value, dict):
        if set(value) == {"value", "source", "as_of"}:  # a catalog fact
            return f"{value['value']} (source {value['source'] or 'unknown'}, " \
                   f"as of {value['as_of'] or 'unknown'})"
        return json.dumps(value, default=str)
    return str(value)
