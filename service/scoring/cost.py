"""Cost at expected volume: what a workload's traffic costs on a candidate each month.

Definition (docs/metrics.md): per request, input tokens are split into cached and uncached
by the workload's cached-input share; cached tokens are billed at the cached-input price
where the candidate has one, else at the input price. Monthly cost = requests per month x
cost per request. The blended price is the cost per million tokens of that mix, which is
what the cost factor scores, so a workload's volume does not shift every score at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.scoring.evidence import Price


@dataclass(frozen=True)
class Volume:
    requests_per_month: float
    input_tokens: float
    output_tokens: float
    cached_input_share: float = 0.0


@dataclass(frozen=True)
class CostEstimate:
    monthly_usd: float
    per_request_usd: float
    blended_per_mtok: float  # USD per million tokens at the workload's mix


def estimate(price: Price, volume: Volume) -> CostEstimate:
    cached_price = (price.cached_input_per_mtok if price.cached_input_per_mtok is not None
                    else price.input_per_mtok)
    cached = volume.input_tokens * volume.cached_input_share
    uncached = volume.input_tokens - cached
    per_request = (uncached * price.input_per_mtok + cached * cached_price
                   + volume.output_tokens * price.output_per_mtok) / 1e6
    tokens = volume.input_tokens + volume.output_tokens
    blended = per_request * 1e6 / tokens if tokens else 0.0
    return CostEstimate(monthly_usd=per_request * volume.requests_per_month,
                        per_request_usd=per_request, blended_per_mtok=blended)
