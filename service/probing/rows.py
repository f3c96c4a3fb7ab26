"""Turn a probe's typed result into the row the store keeps."""

from __future__ import annotations

from probes.result import ProbeResult
from service.scoring.evidence import Price
from service.store.models import ProbeResultRow


def probe_cost_usd(result: ProbeResult, price: Price | None) -> float | None:
    """What the probe itself cost: its usage at the candidate's price (None if unknown).
    Reasoning tokens are part of output_tokens in every dialect, at the output price."""
    if price is None or (result.input_tokens is None and result.output_tokens is None):
        return None
    return ((result.input_tokens or 0) * price.input_per_mtok
            + (result.output_tokens or 0) * price.output_per_mtok) / 1e6


def probe_row(candidate_id: str, region: str, result: ProbeResult,
              price: Price | None) -> ProbeResultRow:
    return ProbeResultRow(
        candidate_id=candidate_id, kind=result.kind, region=region,
        started_at=result.started_at, ok=result.ok,
        error_class=str(result.error_class) if result.error_class else None,
        error_message=(result.error_message or "")[:500] or None,
        http_status=result.http_status, connect_seconds=result.connect_seconds,
        ttft_seconds=result.ttft_seconds, total_seconds=result.total_seconds,
        input_tokens=result.input_tokens, output_tokens=result.output_tokens,
        output_tokens_estimated=result.output_tokens_estimated,
        output_tokens_per_second=result.output_tokens_per_second,
        retry_after_seconds=result.retry_after_seconds,
        cost_usd=probe_cost_usd(result, price), extra=dict(result.extra),
        first_answer_seconds=result.first_answer_seconds,
        reasoning_tokens=result.reasoning_tokens,
        reasoning_tokens_estimated=result.reasoning_tokens_estimated,
        answer_tokens_per_second=result.answer_tokens_per_second)
