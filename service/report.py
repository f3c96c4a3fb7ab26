"""Plain-text rendering of a ranking for the terminal (`factorwatch score`)."""

from __future__ import annotations

import json

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


def render_ranking(ranking: Ranking) -> str:
    lines = [f"workload {ranking.workload}  (evaluated {ranking.evaluated_at:%Y-%m-%d %H:%M:%S}Z,"
             f" leader: {ranking.leader or 'none'})",
             f"{'rank':>4}  {'candidate':<44} {'composite':>9}  why"]
    for entry in ranking.entries:
        rank = str(entry.rank) if entry.rank is not None else "-"
        composite = _fmt(entry.composite) + ("*" if entry.partial else " ")
        if entry.gated:
            why = "GATED: " + "; ".join(entry.gate_reasons)
        else:
            why = " | ".join(top_reasons(entry)) or "no evidence"
        lines.append(f"{rank:>4}  {entry.candidate:<44} {composite:>9}  {why}")
        lines.extend(f"{'':>4}  {'':<44} {'':>9}  note: {n}" for n in entry.notes)
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
