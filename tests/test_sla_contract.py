"""SLA contracts: the terms' validation (each error located), then the month's pure
arithmetic under the contract's own definition, with properties (docs/sla.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.config import ConfigError, load_settings
from service.sla.contract import (
    Counts,
    Tally,
    Terms,
    Tier,
    count,
    credit_share,
    intervals_in,
    judge_month,
    own_outage,
)

AWS_LIKE = (Tier(0.999, 0.99, 0.10), Tier(0.99, 0.95, 0.25), Tier(0.95, 0.0, 1.0))
TERMS = Terms(committed=0.999, interval_seconds=60, tiers=AWS_LIKE)
MONTH = 30 * 1440  # one-minute intervals in a 30-day month
START = datetime(2026, 11, 1, tzinfo=UTC)

# --- the terms in config -------------------------------------------------------------------

CONTRACT = """
builtin_catalog: false
providers:
  acme:
    sla:
      availability: 0.999
      contract:
{contract}
candidates:
  acme/m:
    provider: acme
    api: openai
    base_url: https://api.acme.example/v1
    model: m
"""
GOOD_TIERS = """        tiers:
          - {below: 0.999, at_least: 0.99, credit: 0.10}
          - {below: 0.99, credit: 0.25}"""


def errors_for(tmp_path: Path, contract: str) -> list[str]:
    path = tmp_path / "factorwatch.yaml"
    path.write_text(CONTRACT.format(contract=contract), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    return caught.value.errors


def test_a_valid_contract_loads(tmp_path: Path) -> None:
    path = tmp_path / "factorwatch.yaml"
    path.write_text(CONTRACT.format(contract=GOOD_TIERS + "\n        interval: 5m\n"
                                    "        exclude: [rate_limited, maintenance]"),
                    encoding="utf-8")
    contract = load_settings(path, environ={}).providers["acme"].sla.contract  # type: ignore
    assert contract is not None and contract.interval == 300
    assert [t.credit for t in contract.tiers] == [0.10, 0.25]


@pytest.mark.parametrize(("contract", "expected"), [
    pytest.param("""        tiers:
          - {below: 0.999, at_least: 0.98, credit: 0.10}
          - {below: 0.99, credit: 0.25}""",
                 "providers.acme.sla.contract.tiers: tier 1 [0%, 99%) overlaps tier 0 "
                 "[98%, 99.9%)", id="overlapping-tiers"),
    pytest.param("""        tiers:
          - {below: 0.999, at_least: 0.99, credit: 0.30}
          - {below: 0.99, credit: 0.25}""",
                 "providers.acme.sla.contract.tiers: tier 1 credits 25% for lower "
                 "availability than tier 0 (30%): more downtime must never earn less",
                 id="credit-falls-with-availability"),
    pytest.param("""        tiers:
          - {below: 0.99, at_least: 0.999, credit: 0.10}""",
                 "providers.acme.sla.contract.tiers.0: at_least (99.9%) must be below "
                 "`below` (99%)", id="empty-tier"),
    pytest.param(GOOD_TIERS + "\n        interval: 31d",
                 "providers.acme.sla.contract.interval: longer than a month: a contract's "
                 "interval must be at most 1d (the month is measured in whole intervals)",
                 id="window-longer-than-a-month"),
    pytest.param(GOOD_TIERS + "\n        interval: 7m",
                 "providers.acme.sla.contract.interval: must be whole minutes that divide a "
                 "day (1m, 5m, 15m, 1h, ...)", id="interval-not-dividing-a-day"),
    pytest.param("""        tiers:
          - {below: 0.9995, credit: 0.10}""",
                 "providers.acme.sla: contract.tiers.0.below (99.95%) is above the committed "
                 "availability (99.9%)", id="tier-above-the-commitment"),
    pytest.param(GOOD_TIERS + "\n        exclude: [holidays]",
                 "providers.acme.sla.contract.exclude.0: must be one of 'rate_limited' or "
                 "'maintenance'", id="unknown-exclusion"),
])
def test_bad_contract_is_refused_with_its_location(tmp_path: Path, contract: str,
                                                   expected: str) -> None:
    errors = errors_for(tmp_path, contract)
    assert errors == [expected]


def test_the_builtin_bedrock_contract_has_its_source_and_date() -> None:
    sla = load_settings(None, environ={}).providers["aws-bedrock"].sla
    assert sla is not None and sla.contract is not None
    assert sla.availability == 0.999
    assert sla.contract.source == "https://aws.amazon.com/bedrock/sla/"
    assert sla.contract.as_of is not None
    assert [(t.at_least, t.below, t.credit) for t in sla.contract.tiers] == [
        (0.99, 0.999, 0.10), (0.95, 0.99, 0.25), (0.0, 0.95, 1.0)]


# --- the month's arithmetic ----------------------------------------------------------------


@pytest.mark.parametrize(("availability", "credit"), [
    (1.0, 0.0), (0.999, 0.0), (0.9989, 0.10), (0.99, 0.10), (0.9899, 0.25), (0.95, 0.25),
    (0.9499, 1.0), (0.0, 1.0)])
def test_credit_share_follows_the_tiers(availability: float, credit: float) -> None:
    assert credit_share(AWS_LIKE, availability) == credit


def test_an_interval_is_down_above_the_contracts_error_rate() -> None:
    starts = intervals_in(START, START + timedelta(minutes=4), 60)
    tallies = {starts[0]: Tally(9, 1), starts[1]: Tally(5, 5), starts[2]: Tally(1, 0)}
    lenient = Terms(0.999, 60, AWS_LIKE, down_error_rate=0.2, min_probes=2)
    # 10% errors: up; 50%: down; one probe: below min_probes, not covered; none: not covered
    assert count(starts, tallies, set(), set(), lenient) == Counts(4, 0, 2, 1)
    strict = Terms(0.999, 60, AWS_LIKE)  # any failure, one probe is enough
    assert count(starts, tallies, set(), set(), strict) == Counts(4, 0, 3, 2)


def test_excluded_and_own_outage_intervals_are_never_downtime() -> None:
    starts = intervals_in(START, START + timedelta(minutes=3), 60)
    down = {at: Tally(0, 3) for at in starts}
    counted = count(starts, down, excluded={starts[0]}, ignored={starts[1]}, terms=TERMS)
    assert counted == Counts(total=3, excluded=1, covered=1, down=1)
    assert counted.uncovered == 1


def test_own_outage_needs_two_providers_all_failing() -> None:
    a, b = START, START + timedelta(minutes=1)
    tallies = {"p": {a: Tally(0, 2), b: Tally(0, 2)}, "q": {a: Tally(0, 1), b: Tally(1, 1)}}
    assert own_outage(tallies) == {a}
    assert own_outage({"p": {a: Tally(0, 2)}}) == set()


def test_a_fully_covered_month_below_the_commitment_is_due() -> None:
    verdict = judge_month(Counts(MONTH, 0, MONTH, 60), MONTH, TERMS)  # 60 min down: 99.86%
    assert verdict.status == "due" and verdict.credit == 0.10
    assert verdict.availability == pytest.approx(1 - 60 / MONTH)
    assert verdict.coverage == 1.0


def test_a_fully_covered_good_month_is_no_credit() -> None:
    verdict = judge_month(Counts(MONTH, 0, MONTH, 10), MONTH, TERMS)
    assert verdict.status == "none" and verdict.credit == 0.0


def test_gaps_that_could_change_the_tier_leave_it_undetermined() -> None:
    # 30 min down seen, 60 min without probes: between 99.79% and 99.93%
    verdict = judge_month(Counts(MONTH, 0, MONTH - 60, 30), MONTH, TERMS)
    assert verdict.status == "undetermined" and verdict.credit is None
    assert verdict.credit_range == (0.0, 0.10)
    assert "60 of 43200 elapsed intervals have no probe coverage" in verdict.reason
    assert verdict.coverage == pytest.approx((MONTH - 60) / MONTH)


def test_small_gaps_that_cannot_change_the_tier_still_decide() -> None:
    # 100 min down seen, 5 min without probes: below 99.9% whatever they were
    verdict = judge_month(Counts(MONTH, 0, MONTH - 5, 100), MONTH, TERMS)
    assert verdict.status == "due" and verdict.credit == 0.10
    assert "whatever the 5 unknown intervals were" in verdict.reason


def test_maintenance_shrinks_the_month_it_is_measured_over() -> None:
    verdict = judge_month(Counts(MONTH, 1440, MONTH - 1440, 43), MONTH, TERMS)
    assert verdict.highest == pytest.approx(1 - 43 / (MONTH - 1440))
    assert verdict.status == "due"  # 43 of 41760: 99.897%


def test_a_month_in_progress_on_course_to_breach_is_at_risk() -> None:
    # Day 10 of 30: 20 min down so far (allowed: 43.2) burns 1.39x: ~60 min by month end
    elapsed = 10 * 1440
    verdict = judge_month(Counts(elapsed, 0, elapsed, 20), MONTH, TERMS)
    assert verdict.status == "undetermined" and "still to come" in verdict.reason
    assert verdict.budget.allowed == pytest.approx(43.2)
    assert verdict.budget.projected_down == pytest.approx(60.0)
    assert verdict.budget.at_risk
    calm = judge_month(Counts(elapsed, 0, elapsed, 10), MONTH, TERMS)
    assert not calm.budget.at_risk  # on course for 30 of 43.2


def test_less_than_a_day_of_probes_is_never_at_risk() -> None:
    verdict = judge_month(Counts(600, 0, 600, 5), MONTH, TERMS)
    assert not verdict.budget.at_risk


def test_every_interval_excluded_is_undetermined() -> None:
    verdict = judge_month(Counts(MONTH, MONTH, 0, 0), MONTH, TERMS)
    assert verdict.status == "undetermined" and verdict.credit is None


# --- properties ----------------------------------------------------------------------------


@st.composite
def tiers(draw: st.DrawFn) -> tuple[Tier, ...]:
    """Valid tiers: disjoint ranges below the commitment, credit growing with downtime."""
    cuts = sorted(set(draw(st.lists(st.integers(1, 998), min_size=1, max_size=4))),
                  reverse=True)
    bounds = [999, *cuts, 0]
    credits = sorted(draw(st.lists(st.integers(1, 100), min_size=len(bounds) - 1,
                                   max_size=len(bounds) - 1)))
    return tuple(Tier(bounds[i] / 1000, bounds[i + 1] / 1000, credits[i] / 100)
                 for i in range(len(bounds) - 1))


@st.composite
def months(draw: st.DrawFn) -> tuple[Counts, int]:
    total = draw(st.integers(1, 2000))
    excluded = draw(st.integers(0, total // 4))
    covered = draw(st.integers(0, total - excluded))
    down = draw(st.integers(0, covered))
    elapsed = draw(st.integers(total, total + 500))  # the month may still be in progress
    return Counts(total, excluded, covered, down), elapsed


@given(tiers(), months(), st.integers(1, 50))
def test_more_downtime_never_lowers_the_credit(tier_list: tuple[Tier, ...],
                                               month: tuple[Counts, int], more: int) -> None:
    counts, month_intervals = month
    terms = Terms(0.999, 60, tier_list)
    worse_down = min(counts.covered, counts.down + more)
    worse = Counts(counts.total, counts.excluded, counts.covered, worse_down)
    a, b = judge_month(counts, month_intervals, terms), judge_month(worse, month_intervals, terms)
    if a.credit is not None and b.credit is not None:
        assert b.credit >= a.credit
    if a.credit_range and b.credit_range:
        assert b.credit_range[0] >= a.credit_range[0] and b.credit_range[1] >= a.credit_range[1]


@given(tiers(), months(), st.integers(1, 500))
def test_gaps_never_create_a_credit(tier_list: tuple[Tier, ...], month: tuple[Counts, int],
                                    lost: int) -> None:
    """Losing coverage of up intervals never turns "no credit" into a credit, and a credit
    claimed is the one the month earns with every unknown interval counted up."""
    counts, month_intervals = month
    terms = Terms(0.999, 60, tier_list)
    up = counts.covered - counts.down
    gappier = Counts(counts.total, counts.excluded, counts.covered - min(lost, up), counts.down)
    before, after = judge_month(counts, month_intervals, terms), judge_month(gappier,
                                                                             month_intervals,
                                                                             terms)
    if before.status == "none":
        assert after.status in ("none", "undetermined")
    for verdict in (before, after):
        if verdict.status == "due":
            assert verdict.highest is not None
            assert verdict.credit == credit_share(tier_list, verdict.highest) > 0


@given(tiers(), st.floats(0, 1), st.floats(0, 1))
def test_lower_availability_never_earns_less(tier_list: tuple[Tier, ...], a: float,
                                            b: float) -> None:
    low, high = sorted((a, b))
    assert credit_share(tier_list, low) >= credit_share(tier_list, high)
