"""The cost model beyond input/output: context tiers, batch share, cache reads and writes."""

from __future__ import annotations

import pytest

from service.scoring.cost import Volume, estimate
from service.scoring.evidence import Price, PriceTier

TIERED = Price(1.0, 2.0, tiers=(PriceTier(200_000, 2.0, 4.0),))
BATCHABLE = Price(2.0, 8.0, batch_input_per_mtok=1.0, batch_output_per_mtok=4.0)


@pytest.mark.parametrize(("price", "volume", "per_request", "tier", "batch_priced"), [
    pytest.param(TIERED, Volume(1, 300_000, 1000), 0.604, 200_000, 0.0,
                 id="long-request-billed-wholly-at-the-tier"),
    pytest.param(TIERED, Volume(1, 200_000, 1000), 0.202, None, 0.0,
                 id="exactly-at-the-threshold-is-not-above-it"),
    pytest.param(Price(1.0, 2.0, tiers=(PriceTier(100, 2.0, 4.0), PriceTier(1000, 3.0, 6.0))),
                 Volume(1, 5000, 0), 0.015, 1000, 0.0, id="highest-applicable-tier-wins"),
    pytest.param(BATCHABLE, Volume(1, 1000, 1000, batch_share=1.0), 0.005, None, 1.0,
                 id="all-batch-at-batch-prices"),
    pytest.param(BATCHABLE, Volume(1, 1000, 1000, batch_share=0.5), 0.0075, None, 0.5,
                 id="half-batch"),
    pytest.param(Price(2.0, 8.0), Volume(1, 1000, 1000, batch_share=1.0), 0.01, None, 0.0,
                 id="batch-without-batch-prices-assumes-no-discount"),
    pytest.param(Price(3.0, 15.0, 0.3, cache_write_per_mtok=3.75),
                 Volume(1, 1000, 0, cached_input_share=0.5, cache_write_share=0.25),
                 0.0018375, None, 0.0, id="cache-reads-and-writes"),
    pytest.param(Price(1.0, 2.0, 0.1, tiers=(PriceTier(100, 2.0, 4.0),)),
                 Volume(1, 1000, 0, cached_input_share=0.5), 0.0011, 100, 0.0,
                 id="tier-without-cache-price-keeps-the-cache-discount"),
    pytest.param(Price(1.0, 2.0, batch_input_per_mtok=0.5, batch_output_per_mtok=1.0,
                       tiers=(PriceTier(100, 2.0, 4.0),)),
                 Volume(1, 1000, 100, batch_share=1.0), 0.0012, 100, 1.0,
                 id="batch-in-a-tier-gets-the-batch-discount-on-tier-prices"),
])
def test_cost_per_request(price: Price, volume: Volume, per_request: float, tier: int | None,
                          batch_priced: float) -> None:
    cost = estimate(price, volume)
    assert cost.per_request_usd == pytest.approx(per_request)
    assert cost.tier_above_input_tokens == tier
    assert cost.batch_share_priced == batch_priced


def test_monthly_cost_scales_with_requests_and_blended_price_does_not() -> None:
    small = estimate(BATCHABLE, Volume(1_000, 1000, 1000, batch_share=0.5))
    large = estimate(BATCHABLE, Volume(1_000_000, 1000, 1000, batch_share=0.5))
    assert large.monthly_usd == pytest.approx(small.monthly_usd * 1000)
    assert large.blended_per_mtok == pytest.approx(small.blended_per_mtok) == pytest.approx(3.75)


def test_cost_never_goes_below_zero_or_nan_for_empty_volume() -> None:
    cost = estimate(TIERED, Volume(0, 0, 0))
    assert (cost.monthly_usd, cost.per_request_usd, cost.blended_per_mtok) == (0.0, 0.0, 0.0)
