"""Plain-text rendering of a ranking for the terminal (`factorwatch score`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from service.scoring.ranking import RankedCandidate, Ranking

TOP_REASONS = 2


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


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
COLUMNS = (Column("rank", ">", gap=""), Column("candidate"), Column("composite", ">"),
           Column("", gap=""),  # the partial marker, right after the composite
           Column("why"))


def _cells(entry: RankedCandidate) -> list[str]:
    why = ("GATED: " + "; ".join(entry.gate_reasons) if entry.gated
           else " | ".join(top_reasons(entry)) or "no evidence")
    return [str(entry.rank) if entry.rank is not None else "-", entry.candidate,
            _fmt(entry.composite), "*" if entry.partial else "", why]


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
    if any(e.partial for e in ranking.entries):
        lines.append("* partial: some weighted factors have no evidence yet and were left out")
    return "\n".join(lines)


def render_explanation(ranking: Ranking, entry: RankedCandidate) -> str:
    """Every factor of one candidate: score, weight, source, reason and evidence."""
    status = (f"rank {entry.rank}" if entry.rank is not None
              else "gated: " + "; ".join(entry.gate_reasons) if entry.gated else "not ranked")
    lines = [f"{entry.candidate} for {ranking.workload}: composite {_fmt(entry.composite)}"
             f"{' (partial)' if entry.partial else ''}, {status}",
             f"evaluated {ranking.evaluated_at:%Y-%m-%d %H:%M:%S}Z"]
    lines.extend(f"note: {n}" for n in entry.notes)
    for name, factor in entry.factors.items():
        weight = entry.weights.get(name, 0.0)
        lines.append(f"\n{name}: {_fmt(factor.score)}  weight {weight:g}  ({factor.source})")
        lines.append(f"  {factor.reason}")
        lines.extend(f"  {key}: {_evidence_value(value)}"
                     for key, value in factor.evidence.items() if value is not None)
    return "\n".join(lines)


def _evidence_value(value: object) -> str:
    if isinstance(value, dict):
        if set(value) == {"value", "source", "as_of"}:  # a catalog fact
            return f"{value['value']} (source {value['source'] or 'unknown'}, " \
                   f"as of {value['as_of'] or 'unknown'})"
        return json.dumps(value, default=str)
    return str(value)
