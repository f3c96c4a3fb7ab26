"""Workloads: the latest ranking, its history, and a rescore on demand."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session, col, select

from service.api.auth import require_token
from service.api.deps import Ctx, Cursor, Db, Limit, known_workload
from service.api.schemas import HistoryEntry, HistoryItem, Page, RankingOut, Rescored
from service.rankings.saved import latest_ranking, ranking_from_rows
from service.store.models import Evaluation, RankingEntry
from service.store.queries import newest_first

router = APIRouter(prefix="/api/v1", tags=["workloads"])


@router.get("/workloads", summary="The configured workloads' names (the whole list, one page)")
def list_workloads(ctx: Ctx) -> Page[str]:
    return Page[str](items=ctx.workloads(), next_cursor=None)


@router.get("/workloads/{workload}/ranking",
            summary="The latest ranking of a workload (as `factorwatch score --json`)",
            responses={404: {"description": "unknown workload, or not scored yet"}})
def workload_ranking(ctx: Ctx, db: Db, workload: str) -> RankingOut:
    known_workload(ctx, workload)
    doc = latest_ranking(db, workload)
    if doc is None:
        raise HTTPException(404, f"workload {workload!r} has not been scored yet")
    return RankingOut(**doc)


@router.get("/workloads/{workload}/history", summary="Past rankings of a workload, newest "
            "first: rank and composite per candidate (the full document: /evaluations/{id})",
            description="What the retention job keeps (docs/config.md, Saved rankings): "
            "every scoring pass from the last `retention.rankings_full` (default 3 days, "
            "from a whole UTC hour), then the first ranking of each UTC hour back to "
            "`retention.rankings` (default 90 days); at any age, the workload's latest "
            "ranking and those a `top_choice_changed` event or the announced top choice "
            "refer to. `/evaluations/{id}` answers for every id listed here until it ages "
            "out of those windows.",
            responses={404: {"description": "unknown workload"}})
def ranking_history(ctx: Ctx, db: Db, workload: str, limit: Limit = 20,
                    cursor: Cursor = None) -> Page[HistoryItem]:
    known_workload(ctx, workload)
    page = newest_first(db, select(Evaluation).where(Evaluation.workload == workload),
                        Evaluation.evaluated_at, Evaluation.id, limit, cursor)
    ids = [e.id for e in page.items]
    entries: dict[int, list[HistoryEntry]] = {i: [] for i in ids if i is not None}
    for row in db.exec(select(RankingEntry).where(col(RankingEntry.evaluation_id).in_(ids))):
        entries[row.evaluation_id].append(HistoryEntry(
            candidate=row.candidate_id, rank=row.rank, composite=row.composite,
            composite_low=row.composite_low, composite_high=row.composite_high,
            tied=bool(row.tied), state=row.state, gated=row.gated))
    items = [HistoryItem(evaluation_id=e.id, workload=e.workload, evaluated_at=e.evaluated_at,
                         leader=e.leader,
                         ranking=sorted(entries.get(e.id, []),
                                        key=lambda h: (h.rank is None, h.rank or 0, h.candidate)))
             for e in page.items if e.id is not None]
    return Page[HistoryItem](items=items, next_cursor=page.next_cursor)


@router.get("/evaluations/{evaluation_id}", summary="One past ranking, whole (its `top_choice` "
            "is the current announcement)",
            responses={404: {"description": "no such id, or deleted by the retention job"}})
def evaluation(db: Db, evaluation_id: int) -> RankingOut:
    row = db.get(Evaluation, evaluation_id)
    if row is None:
        raise HTTPException(404, f"no evaluation {evaluation_id}")
    return RankingOut(**ranking_from_rows(db, row))


@router.post("/rescore", summary="Score every workload now (needs the bearer token)",
             dependencies=[Depends(require_token)],
             responses={401: {"description": "missing or wrong token"},
                        403: {"description": "no token configured on the daemon"},
                        409: {"description": "this replica does not hold the scoring lease"},
                        503: {"description": "this process does not score"}})
async def rescore(ctx: Ctx) -> Rescored:
    # A rescore is an evaluation like a scheduled one: it counts towards flip confirmations.
    if ctx.rescore is None:
        raise HTTPException(503, "this process does not score")
    if not await ctx.rescore():
        raise HTTPException(409, "this replica does not hold the scoring lease: send the "
                                 "request to the one whose factorwatch_leader is 1")
    names = ctx.workloads()
    return Rescored(workloads=names, evaluated_at=await _evaluated_at(ctx, names))


async def _evaluated_at(ctx: Ctx, names: list[str]) -> dict[str, Any]:
    def read() -> dict[str, Any]:
        with Session(ctx.engine) as session:
            docs = {n: latest_ranking(session, n) for n in names}
        return {n: doc["evaluated_at"] if doc else None for n, doc in docs.items()}

    return await run_in_threadpool(read)
