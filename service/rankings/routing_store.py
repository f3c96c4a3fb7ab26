"""Routing from the store: the latest saved ranking's routing, and the routing_changed event
saved when a scoring pass changes it (docs/routing.md)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from service.rankings.routing import Routing, build_routing, change_payload
from service.store.models import Evaluation, RankingEntry
from service.store.outbox import record_event

EVENT_TYPE = "routing_changed"


def latest_routing(session: Session, workload: str) -> Routing | None:
    """The routing of the workload's latest saved ranking (the one /ranking serves); None
    when it has not been scored yet. Reads the entries only, not the factor scores."""
    evaluation = session.exec(
        select(Evaluation).where(Evaluation.workload == workload)
        .order_by(col(Evaluation.id).desc()).limit(1)
    ).first()
    if evaluation is None:
        return None
    rows = session.exec(select(RankingEntry).where(
        RankingEntry.evaluation_id == evaluation.id)).all()
    entries = [{"candidate": e.candidate_id, "rank": e.rank, "tied": bool(e.tied),
                "state": e.state, "state_reason": e.state_reason, "gated": e.gated,
                "gate_reasons": list(e.gate_reasons)} for e in rows]
    return build_routing(workload, entries, evaluation.id, evaluation.evaluated_at)


def record_routing_change(session: Session, old: Routing, new: Routing) -> bool:
    """Save routing_changed in the caller's transaction when the version moved; True if saved.
    `warning` when the candidate tried first changes (or none is left), else `info`."""
    if old.version == new.version:
        return False
    severity = "warning" if old.first != new.first else "info"
    return record_event(session, EVENT_TYPE,
                        f"{EVENT_TYPE}:{new.workload}:{new.evaluated_at.isoformat()}",
                        change_payload(old, new), new.evaluated_at, severity)
