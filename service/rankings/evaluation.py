"""One scoring pass: config + stored evidence -> a ranking per workload, saved as history.

This is the I/O shell around service/scoring (which stays pure): it reads the evidence for
the scoring window, ranks every workload, and saves every ranking in one transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.config import CandidateConfig, Settings, WorkloadConfig
from service.rankings.evidence import CandidateFacts, Windows, gather
from service.rankings.latency import judge_latencies
from service.rankings.routing import build_routing
from service.rankings.routing_store import latest_routing, record_routing_change
from service.rankings.saved import save_ranking
from service.rankings.top_choice import load_state, record_change, save_state
from service.scoring.cost import Volume
from service.scoring.evidence import FactValue, Price, VoicePipelineFacts
from service.scoring.factors import WorkloadSpec
from service.scoring.flip import Change, decide
from service.scoring.ranking import Ranking, entry_document, rank
from service.scoring.scales import scale
from service.scoring.states import StateRules


def state_rules(settings: Settings) -> StateRules:
    cfg = settings.scoring.states
    return StateRules(window_seconds=cfg.window, min_probes=cfg.min_probes,
                      down_failure_share=cfg.down_failure_share,
                      degraded_failure_share=cfg.degraded_failure_share,
                      throttled_share=cfg.throttled_share, quorum=cfg.quorum)


def workload_spec(name: str, wl: WorkloadConfig, settings: Settings) -> WorkloadSpec:
    scales = {factor: scale(sc.anchors, log=sc.log) for factor, sc in wl.scales.items()}
    return WorkloadSpec(
        name=name,
        volume=Volume(requests_per_month=wl.volume.requests_per_month,
                      input_tokens=wl.volume.input_tokens,
                      output_tokens=wl.volume.output_tokens,
                      cached_input_share=wl.volume.cached_input_share,
                      batch_share=wl.volume.batch_share),
        weights=dict(wl.weights),
        ttft_budget_seconds=wl.latency_budget.ttft_p99,
        require=tuple(wl.gates.require),
        min_availability=wl.gates.min_availability,
        max_ttft_p99_seconds=wl.gates.max_ttft_p99,
        max_monthly_cost_usd=wl.gates.max_monthly_cost_usd,
        context_tokens=wl.context_tokens,
        scales=scales,
        missing=wl.missing,
        max_throttled_share=wl.gates.max_throttled_share,
        confidence=settings.scoring.confidence,
        tie_confidence=settings.alerts.flip.confidence,
        states=state_rules(settings),
        honesty_penalty=wl.honesty_penalty,
        latency_measure=wl.latency_budget.measure,
    )


def configured_price(cand: CandidateConfig) -> Price | None:
    p = cand.price
    return p.as_price() if p is not None and p.source == "static" else None


def candidate_facts(settings: Settings) -> list[CandidateFacts]:
    out = []
    for cid, cand in sorted(settings.candidates.items()):
        if not cand.enabled:
            continue
        provider = settings.providers[cand.provider]
        facts = {name: FactValue(f.value, f.source, f.as_of.isoformat() if f.as_of else None)
                 for name, f in provider.facts.items()}
        sla = provider.sla.availability if provider.sla else None
        prior, pipeline = cand.quality_prior, cand.voice_pipeline
        out.append(CandidateFacts(
            cid, cand.provider, facts, sla, configured_price(cand),
            FactValue(prior.value, prior.source, prior.as_of.isoformat() if prior.as_of else None)
            if prior else None,
            VoicePipelineFacts(pipeline.overhead, pipeline.source) if pipeline else None))
    return out


def evaluate(session: Session, settings: Settings, now: datetime,
             workloads: list[str] | None = None,
             weights: dict[str, float] | None = None) -> list[Ranking]:
    """Rank the named workloads (all by default) on the evidence as of `now`.

    `weights` overrides the workload's weights factor by factor (a what-if).
    """
    windows = Windows(scoring_seconds=settings.scoring.window,
                      rate_seconds=settings.scoring.rate_window,
                      state_seconds=settings.scoring.states.window,
                      status_followed=frozenset(p for p, cfg in settings.providers.items()
                                                if cfg.status))
    evidence = gather(session, candidate_facts(settings), now, windows)
    names = workloads if workloads is not None else sorted(settings.workloads)
    rankings = []
    for name in names:
        spec = workload_spec(name, settings.workloads[name], settings)
        if weights:
            spec = WorkloadSpec(**{**spec.__dict__, "weights": {**spec.weights, **weights}})
        rankings.append(rank(spec, evidence, now))
    return rankings


def evaluate_and_save(engine: Engine, settings: Settings, now: datetime
                      ) -> tuple[list[Ranking], list[Change]]:
    """Score every workload and save, in one transaction, each ranking, the top-choice state
    and any top-choice change event, and a routing_changed event when the routing order moved
    (not on a workload's first ranking): an event never exists without the ranking behind it."""
    flip = settings.alerts.flip
    changes = []
    with Session(engine) as session, session.begin():
        rankings = evaluate(session, settings, now)
        rankings = judge_latencies(session, settings, rankings, now)  # degraded by latency
        for ranking in rankings:
            before = latest_routing(session, ranking.workload)
            evaluation_id = save_ranking(session, ranking)
            if before is not None:
                after = build_routing(ranking.workload,
                                      [entry_document(e) for e in ranking.entries],
                                      evaluation_id, now)
                record_routing_change(session, before, after)
            state, change = decide(load_state(session, ranking.workload), ranking,
                                   flip.margin, flip.confirmations, flip.confidence)
            save_state(session, ranking.workload, state, now)
            if change is not None:
                record_change(session, change, now)
                changes.append(change)
    return rankings, changes
