"""Cost at expected volume: what a workload's traffic costs on a candidate each month.

Definition (docs/metrics.md, docs/scoring.md):
- Context tier: a request whose input is above a tier's `above_input_tokens` is billed
  wholly at that tier's prices (the highest such tier), as Gemini and OpenAI bill them.
- Cached input: `cached_input_share` of the input tokens are read from the prompt cache,
  billed at the cached-input price where the candidate has one (else the input price);
  `cache_write_share` of them are written to it, at the cache-write price where known.
- Batch: `batch_share` of the requests go through the batch API, at the batch prices where
  the candidate has them, else at the standard prices (no discount is assumed). A batch
  request in a context tier pays the tier's prices scaled by the batch discount.
Monthly cost = requests per month x cost per request. The blended price is the cost per
million tokens of that mix, which is what the cost factor scores, so a workload's volume
does not shift every score at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.scoring.evidence import Price, PriceTier


@dataclass(frozen=True)
class Volume:
    requests_per_month: float
    input_tokens: float  # per request
    output_tokens: float  # per request
    cached_input_share: float = 0.0  # of input tokens, read from the prompt cache
    batch_share: float = 0.0  # of requests, sent through the batch API
    cache_write_share: float = 0.0  # of input tokens, written to the prompt cache


@dataclass(frozen=True)
class CostEstimate:
    monthly_usd: float
    per_request_usd: float
    blended_per_mtok: float  # USD per million tokens at the workload's mix
    tier_above_input_tokens: int | None = None  # the context tier that applied, if any
    batch_share_priced: float = 0.0  # the batch share billed at batch prices


@dataclass(frozen=True)
class _Rates:
    input: float
    output: float
    cached: float
    cache_write: float


def applicable_tier(price: Price, input_tokens: float) -> PriceTier | None:
    above = [t for t in price.tiers if input_tokens > t.above_input_tokens]
    return max(above, key=lambda t: t.above_input_tokens) if above else None


def _standard(price: Price, tier: PriceTier | None) -> _Rates:
    if tier is None:
        cached = price.cached_input_per_mtok
        rates_in, rates_out = price.input_per_mtok, price.output_per_mtok
    else:
        rates_in, rates_out, cached = (tier.input_per_mtok, tier.output_per_mtok,
                                       tier.cached_input_per_mtok)
        if cached is None and price.cached_input_per_mtok is not None and price.input_per_mtok:
            # A tier without its own cache price keeps the untiered cache discount.
            cached = price.cached_input_per_mtok * tier.input_per_mtok / price.input_per_mtok
    write = price.cache_write_per_mtok
    return _Rates(rates_in, rates_out, rates_in if cached is None else cached,
                  rates_in if write is None else write)


def _batch(price: Price, standard: _Rates) -> _Rates | None:
    if price.batch_input_per_mtok is None or price.batch_output_per_mtok is None:
        return None
    scale_in = price.batch_input_per_mtok / price.input_per_mtok if price.input_per_mtok else 1
    scale_out = (price.batch_output_per_mtok / price.output_per_mtok
                 if price.output_per_mtok else 1)
    return _Rates(standard.input * scale_in, standard.output * scale_out,
                  min(standard.cached, standard.input * scale_in), standard.cache_write)


def _per_request(rates: _Rates, volume: Volume) -> float:
    cached = volume.input_tokens * volume.cached_input_share
    written = volume.input_tokens * min(volume.cache_write_share,
                                        1.0 - volume.cached_input_share)
    plain = volume.input_tokens - cached - written
    return (plain * rates.input + cached * rates.cached + written * rates.cache_write
            + volume.output_tokens * rates.output) / 1e6


def estimate(price: Price, volume: Volume) -> CostEstimate:
    tier = applicable_tier(price, volume.input_tokens)
    standard = _standard(price, tier)
    batch = _batch(price, standard) if volume.batch_share > 0 else None
    per_request = _per_request(standard, volume)
    batch_priced = 0.0
    if batch is not None:
        batch_priced = volume.batch_share
        per_request = ((1 - batch_priced) * per_request
                       + batch_priced * _per_request(batch, volume))
    tokens = volume.input_tokens + volume.output_tokens
    blended = per_request * 1e6 / tokens if tokens else 0.0
    return CostEstimate(monthly_usd=per_request * volume.requests_per_month,
                        per_request_usd=per_request, blended_per_mtok=blended,
                        tier_above_input_tokens=tier.above_input_tokens if tier else None,
                        batch_share_priced=batch_priced)
