"""Save each evaluation's ranking with its factor scores, and read the latest back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert
from sqlmodel import Session, col, select

from service.scoring.ranking import Ranking
from service.store.models import Evaluation, FactorScoreRow, RankingEntry, TopChoice


def save_ranking(session: Session, ranking: Ranking) -> int:
    """Add one evaluation with its entries and factor scores to the session's transaction.

    Entries and scores go in as two multi-row inserts: a cycle writes thousands of rows,
    and building an ORM object for each costs more than the rest of the cycle.
    """
    evaluation = Evaluation(workload=ranking.workload, evaluated_at=ranking.evaluated_at,
                            leader=ranking.leader, confidence=ranking.confidence,
                            missing_policy=ranking.missing_policy)
    session.add(evaluation)
    session.flush()  # assigns evaluation.id
    assert evaluation.id is not None
    entries = [{"evaluation_id": evaluation.id, "candidate_id": e.candidate, "rank": e.rank,
                "composite": e.composite, "partial": e.partial, "gated": e.gated,
                "gate_reasons": list(e.gate_reasons), "notes": list(e.notes),
                "composite_low": e.composite_low, "composite_high": e.composite_high,
                "tied": bool(e.tied), "state": e.state, "state_reason": e.state_reason[:300]}
               for e in ranking.entries]
    scores = [{"evaluation_id": evaluation.id, "candidate_id": e.candidate, "factor": name,
               "score": f.score, "weight": e.weights.get(name, 0.0), "source": f.source,
               "evidence": {"reason": f.reason, **f.evidence},
               "low": interval[0] if interval else None, "high": interval[1] if interval else None}
              for e in ranking.entries for name, f in e.factors.items()
              for interval in (f.interval,)]
    # Core table inserts, not ORM entities: the ORM's bulk path sends PostgreSQL one
    # statement per few rows, the Core path multi-row VALUES batches.
    if entries:
        session.execute(insert(RankingEntry.__table__), entries)  # type: ignore[attr-defined]
    if scores:
        session.execute(insert(FactorScoreRow.__table__), scores)  # type: ignore[attr-defined]
    return evaluation.id


def latest_rankings(session: Session) -> list[dict[str, Any]]:
    """The most recent evaluation of every workload, as ranking documents
    (docs/architecture.md)."""
    latest_ids = select(func.max(Evaluation.id)).group_by(Evaluation.workload)
    evaluations = session.exec(
        select(Evaluation).where(col(Evaluation.id).in_(latest_ids))
        .order_by(col(Evaluation.workload))
    ).all()
    return [ranking_from_rows(session, evaluation) for evaluation in evaluations]


def latest_ranking(session: Session, workload: str) -> dict[str, Any] | None:
    evaluation = session.exec(
        select(Evaluation).where(Evaluation.workload == workload)
        .order_by(col(Evaluation.id).desc()).limit(1)
    ).first()
    return ranking_from_rows(session, evaluation) if evaluation else None


def ranking_announced_with(session: Session, workload: str, at: datetime
                           ) -> dict[str, Any] | None:
    """The saved ranking the workload's current top choice was announced (or first set)
    with, if it is no later than `at`: what `explain` compares the present with."""
    announced = session.get(TopChoice, workload)
    if announced is None or announced.since is None:
        return None
    since = min(_aware(announced.since), at)
    evaluation = session.exec(
        select(Evaluation).where(Evaluation.workload == workload,
                                 col(Evaluation.evaluated_at) <= since)
        .order_by(col(Evaluation.evaluated_at).desc(), col(Evaluation.id).desc()).limit(1)
    ).first()
    return ranking_from_rows(session, evaluation) if evaluation else None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def ranking_from_rows(session: Session, evaluation: Evaluation) -> dict[str, Any]:
    """Rebuild the document `ranking_document` made, from the rows `save_ranking` wrote."""
    entries = session.exec(select(RankingEntry).where(
        RankingEntry.evaluation_id == evaluation.id)).all()
    scores = session.exec(select(FactorScoreRow).where(
        FactorScoreRow.evaluation_id == evaluation.id).order_by(col(FactorScoreRow.id))).all()
    factors: dict[str, dict[str, Any]] = {e.candidate_id: {} for e in entries}
    for s in scores:
        evidence = dict(s.evidence)
        reason = evidence.pop("reason", "")
        factors.setdefault(s.candidate_id, {})[s.factor] = {
            "score": s.score, "low": s.low, "high": s.high, "weight": s.weight,
            "source": s.source, "reason": reason, "evidence": evidence}
    ordered = sorted(entries, key=lambda e: (e.rank is None, e.rank or 0, e.candidate_id))
    announced = session.get(TopChoice, evaluation.workload)
    return {
        "workload": evaluation.workload,
        "evaluated_at": evaluation.evaluated_at.isoformat(),
        "leader": evaluation.leader,
        "top_choice": announced.candidate if announced else None,
        "confidence": evaluation.confidence,
        "missing_policy": evaluation.missing_policy,
        "ranking": [
            {"candidate": e.candidate_id, "rank": e.rank, "composite": e.composite,
             "composite_low": e.composite_low, "composite_high": e.composite_high,
             "tied": bool(e.tied), "state": e.state or "unknown",
             "state_reason": e.state_reason or "", "partial": e.partial,
             "missing": [name for name, f in factors.get(e.candidate_id, {}).items()
                         if f["source"] == "missing" and f["weight"] > 0],
             "gated": e.gated, "gate_reasons": list(e.gate_reasons),
             "notes": list(e.notes), "factors": factors.get(e.candidate_id, {})}
            for e in ordered
        ],
    }
