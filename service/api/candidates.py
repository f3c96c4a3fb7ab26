"""Candidates: what is configured, how each stands, and every factor behind its score."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from sqlmodel import Session

from service.api.deps import ApiContext, Ctx, Db, known_candidate, known_workload
from service.api.schemas import (
    CandidateDetail,
    CandidateOut,
    CandidateRank,
    ExplainOut,
    Page,
    PriceOut,
    SlaRowOut,
    VoiceOut,
)
from service.api.sla import sla_row_out
from service.incidents.queries import open_incident_counts
from service.prices.queries import latest_prices
from service.rankings.evaluation import evaluate
from service.rankings.saved import latest_ranking, latest_rankings
from service.scoring.evidence import Price
from service.scoring.ranking import ranking_document
from service.sla.figures import committed_sla, sla_rows
from service.store.queries import last_probe_times
from service.store.voice import latest_voice

router = APIRouter(prefix="/api/v1", tags=["candidates"])


def _summary(ctx: ApiContext, cid: str, price: Price | None) -> dict[str, Any]:
    c = ctx.settings.candidates[cid]
    return {"id": cid, "provider": c.provider, "api": c.api, "model": c.model,
            "enabled": c.enabled, "probes": {k: s.every for k, s in sorted(c.probes.items())},
            "committed_sla": committed_sla(ctx.settings, c.provider),
            "price": PriceOut.of(cid, price) if price else None}


@router.get("/candidates", summary="Every configured candidate with its current price (the "
            "whole list, one page)")
def list_candidates(ctx: Ctx, db: Db) -> Page[CandidateOut]:
    ids = sorted(ctx.settings.candidates)
    prices = latest_prices(db, ids, datetime.now(UTC))
    return Page[CandidateOut](items=[CandidateOut(**_summary(ctx, cid, prices.get(cid)))
                                     for cid in ids], next_cursor=None)


@router.get("/candidates/{candidate:path}/explain",
            summary="Every factor of one candidate for a workload, with its evidence",
            description="By default the factor scores stored with the workload's latest "
            "ranking; `fresh=true` evaluates the current evidence afresh (read-only, like "
            "`factorwatch explain`).",
            responses={404: {"description": "unknown candidate or workload, or not ranked"}})
def explain(ctx: Ctx, db: Db, candidate: str,
            workload: Annotated[str, Query(max_length=100)],
            fresh: bool = False) -> ExplainOut:
    known_candidate(ctx, candidate)
    known_workload(ctx, workload)
    doc = _fresh(ctx, db, workload) if fresh else _stored(db, workload)
    entry = next((e for e in (doc or {}).get("ranking", []) if e["candidate"] == candidate),
                 None)
    if doc is None or entry is None:
        raise HTTPException(404, f"{candidate!r} is not ranked for {workload!r} yet")
    return ExplainOut(workload=workload, evaluated_at=doc["evaluated_at"], **entry)


def _stored(db: Session, workload: str) -> dict[str, Any] | None:
    return latest_ranking(db, workload)


def _fresh(ctx: ApiContext, db: Session, workload: str) -> dict[str, Any]:
    (ranking,) = evaluate(db, ctx.settings, datetime.now(UTC), [workload])
    return ranking_document(ranking)


@router.get("/candidates/{candidate:path}", summary="One candidate: config, price, SLA per "
            "window, last probes, open incidents of its provider, rank in every workload",
            responses={404: {"description": "unknown candidate"}})
def candidate_detail(ctx: Ctx, db: Db, candidate: str) -> CandidateDetail:
    known_candidate(ctx, candidate)
    now = datetime.now(UTC)
    cfg = ctx.settings.candidates[candidate]
    price = latest_prices(db, [candidate], now).get(candidate)
    row = next(iter(sla_rows(db, ctx.settings, now, only=[candidate])), None)
    last = last_probe_times(db, [(candidate, kind) for kind in sorted(cfg.probes)])
    ranks = []
    for doc in latest_rankings(db):
        for e in doc["ranking"]:
            if e["candidate"] == candidate:
                ranks.append(CandidateRank(
                    workload=doc["workload"], evaluated_at=doc["evaluated_at"],
                    top_choice=doc.get("top_choice") == candidate,
                    **{k: e[k] for k in CandidateRank.model_fields if k in e}))
    voice = latest_voice(db, candidate) if "voice" in cfg.probes else None
    return CandidateDetail(
        **_summary(ctx, candidate, price),
        open_incidents=open_incident_counts(db).get(cfg.provider, 0),
        last_probe={kind: at for (_, kind), at in last.items()},
        voice=VoiceOut.model_validate(voice, from_attributes=True) if voice else None,
        sla=SlaRowOut(**sla_row_out(row)) if row else None, rankings=ranks)
