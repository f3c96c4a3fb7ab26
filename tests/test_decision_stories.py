"""What the ranking decides, told as stories: the real daemon against simulated providers
whose behaviour changes mid-run, with the announced top choice and the alerts asserted over
time. docs/scoring.md ("What the ranking does when ...") has the table of these stories.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from service.sim.behaviour import SimModel
from tests.stories import CONFIRMATIONS, SCORING_EVERY, STATE_WINDOW, Candidate, Story

pytestmark = pytest.mark.integration

VOLUME = {"requests_per_month": 100_000, "input_tokens": 500, "output_tokens": 200}
FAST_AND_RELIABLE = {"volume": VOLUME, "latency_budget": {"ttft_p99": "0.5s"},
                     "weights": {"latency": 1, "reliability": 1}}
# The time a down candidate may keep the top choice: the state window to see it fail
# min_probes times, the confirmations, and slack for a loaded 2-core machine.
SWITCH_BOUND = STATE_WINDOW + (CONFIRMATIONS + 3) * SCORING_EVERY + 6


def model(ttft: float, **kw: Any) -> SimModel:
    return SimModel(ttft_seconds=ttft, inter_token_seconds=0.005, jitter=0.2, **kw)


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def never_became_top_while_unavailable(story: Story, workload: str) -> None:
    """No change ever made a down or throttled candidate the top choice."""
    states = {datetime.fromisoformat(at).replace(tzinfo=UTC): by_candidate
              for at, by_candidate in story.states(workload)}
    for d in story.decisions(workload):
        assert states[datetime.fromisoformat(d.at)].get(d.new) not in ("down", "throttled"), d


async def test_leader_goes_down_and_comes_back(tmp_path: Path) -> None:
    fast, slow = model(0.05), model(0.3)
    async with Story(tmp_path, {"fast": Candidate(fast), "slow": Candidate(slow)},
                     {"chat": FAST_AND_RELIABLE}) as story:
        await story.until(lambda: story.top_choice("chat") == "sim/fast", 40,
                          "the fast candidate as top choice")
        before = len(story.decisions("chat"))

        fast.fault = "status_503"  # the leader answers every request with 503
        took = await story.until(lambda: story.top_choice("chat") == "sim/slow",
                                 SWITCH_BOUND + 10, "the switch to the serving candidate")
        assert took <= SWITCH_BOUND
        switch = story.decisions("chat")[before]
        assert (switch.old, switch.new, switch.cause) == ("sim/fast", "sim/slow",
                                                          "unavailable")
        assert switch.reason.startswith("sim/fast is down: ")
        assert "probes failed since" in switch.reason and "http_5xx 503" in switch.reason
        assert switch.payload["old_state"] == "down"
        await story.until(lambda: any("sim/fast is down" in " ".join(e["reasons"])
                                      for e in story.sent("top_choice_changed")), 10,
                          "the webhook to hear why")
        doc = await story.ranking("chat")
        down = next(e for e in doc["ranking"] if e["candidate"] == "sim/fast")
        assert down["state"] == "down" and down["rank"] == 2  # ranked after the serving one

        fast.fault = None  # it recovers
        recovered_at = now_iso()
        await story.run_for(CONFIRMATIONS * SCORING_EVERY + STATE_WINDOW + 4)

    after = [d for d in story.decisions("chat") if d.at > recovered_at]
    # Back only with the same hysteresis: at most one change, a lead held for the
    # confirmations, never straight away.
    assert len(after) <= 1, after
    for d in after:
        assert d.cause == "overtaken" and d.new == "sim/fast"
        assert story.evaluations_since("chat", recovered_at) >= CONFIRMATIONS
    never_became_top_while_unavailable(story, "chat")


async def test_a_candidate_that_throttles_loses_the_top_choice(tmp_path: Path) -> None:
    fast, slow = model(0.05), model(0.3)
    workloads = {"chat": FAST_AND_RELIABLE,
                 "strict": {**FAST_AND_RELIABLE, "gates": {"max_throttled_share": 0.2}}}
    async with Story(tmp_path, {"fast": Candidate(fast), "slow": Candidate(slow)},
                     workloads) as story:
        await story.until(lambda: story.top_choice("chat") == "sim/fast"
                          and story.top_choice("strict") == "sim/fast", 40,
                          "the fast candidate as top choice")
        fast.fault = "status_429"  # every request throttled
        await story.until(lambda: story.top_choice("strict") == "sim/slow", SWITCH_BOUND + 10,
                          "the gate to exclude the throttled candidate")
        took = await story.until(lambda: story.top_choice("chat") == "sim/slow",
                                 SWITCH_BOUND + 10, "the switch away from the throttled one")
        assert took <= SWITCH_BOUND
        doc = await story.ranking("chat")
        metrics = await story.metrics()
    chat, strict = story.decisions("chat")[-1], story.decisions("strict")[-1]
    assert chat.cause == "unavailable" and chat.reason.startswith("sim/fast is throttled: ")
    assert "probes answered 429" in chat.reason and "(Retry-After)" in chat.reason
    assert strict.cause == "gated" and "answered 429" in strict.reason
    throttled = next(e for e in doc["ranking"] if e["candidate"] == "sim/fast")
    assert throttled["state"] == "throttled"
    # 429s are evidence of their own: in the reliability evidence and as a metric.
    windows = throttled["factors"]["reliability"]["evidence"]["windows"]
    assert windows["1h"]["throttled"] > 0 and windows["1h"]["throttled_share"] > 0
    assert 'factorwatch_candidate_state{candidate="sim/fast",state="throttled"} 1.0' in metrics
    assert 'factorwatch_throttled_ratio{candidate="sim/fast",window="1h"}' in metrics
    never_became_top_while_unavailable(story, "chat")


async def test_two_equal_candidates_jittering_never_flip(tmp_path: Path) -> None:
    same = {"ttft": 0.2, "ttft_sigma": 0.3, "error_rate": 0.02}
    a = model(same["ttft"], ttft_sigma=same["ttft_sigma"], error_rate=same["error_rate"])
    b = model(same["ttft"], ttft_sigma=same["ttft_sigma"], error_rate=same["error_rate"])
    async with Story(tmp_path, {"twin-a": Candidate(a), "twin-b": Candidate(b)},
                     {"chat": FAST_AND_RELIABLE}) as story:
        async def both_measured() -> bool:
            doc = await story.ranking("chat", missing_ok=True)
            return bool(doc) and all(e["factors"]["latency"]["source"] == "measured"
                                     for e in doc["ranking"])

        await story.until(both_measured, 30, "latency evidence for both")
        start = now_iso()
        ties = 0
        for _ in range(25):
            await story.run_for(SCORING_EVERY)
            doc = await story.ranking("chat")
            ties += any(e["tied"] for e in doc["ranking"])
    assert [d for d in story.decisions("chat") if d.at > start] == []
    assert ties >= 20  # equal providers are shown as statistically tied


async def test_a_new_candidate_with_few_probes_does_not_take_over_on_luck(tmp_path: Path
                                                                         ) -> None:
    """A key for a new provider starts working: it answers a little faster, on a handful of
    probes. It is ranked with a wide interval, not announced on that handful."""
    incumbent = model(0.3)
    newcomer = model(0.25, fault="status_401")  # no working key yet: no evidence at all
    async with Story(tmp_path, {"known": Candidate(incumbent), "newcomer": Candidate(newcomer)},
                     {"chat": FAST_AND_RELIABLE},
                     history={"known": 1440}) as story:  # a day of probes, one a minute
        await story.until(lambda: story.top_choice("chat") == "sim/known", 30,
                          "the known candidate as top choice")
        await story.run_for(STATE_WINDOW)
        doc = await story.ranking("chat")
        new = next(e for e in doc["ranking"] if e["candidate"] == "sim/newcomer")
        assert new["state"] == "unknown" and new["missing"] == ["latency", "reliability"]
        assert new["rank"] == 2  # missing evidence does not help

        newcomer.fault = None  # the key works
        joined = now_iso()
        await story.run_for(8)
        doc = await story.ranking("chat")
    assert story.top_choice("chat") == "sim/known"
    assert [d for d in story.decisions("chat") if d.at > joined] == []
    known, new = (next(e for e in doc["ranking"] if e["candidate"] == c)
                  for c in ("sim/known", "sim/newcomer"))
    assert new["factors"]["reliability"]["source"] == "measured"
    width = {e["candidate"]: e["composite_high"] - e["composite_low"] for e in (known, new)}
    assert width["sim/newcomer"] > width["sim/known"]  # less evidence, less certain


async def test_a_price_cut_makes_a_slower_candidate_win_a_cost_heavy_workload(
        tmp_path: Path) -> None:
    fast, slow = model(0.05), model(0.4)
    cost_heavy = {"volume": VOLUME, "latency_budget": {"ttft_p99": "0.5s"},
                  "weights": {"cost": 5, "latency": 1}}
    async with Story(tmp_path, {"fast": Candidate(fast, (3.0, 12.0), listed=True),
                                "slow": Candidate(slow, (2.5, 10.0), listed=True)},
                     {"batch": cost_heavy}) as story:
        await story.until(lambda: story.top_choice("batch") == "sim/fast", 40,
                          "the fast candidate as top choice")
        story.sim.price_list["slow"].update({"input_cost_per_token": 0.5e-6,
                                             "output_cost_per_token": 2e-6})
        await story.until(lambda: story.top_choice("batch") == "sim/slow", 30,
                          "the cheaper candidate to take over")
    flip = story.decisions("batch")[-1]
    assert flip.cause == "overtaken" and flip.payload["explanation"][0]["factor"] == "cost"
    assert flip.payload["probability_ahead"] >= 0.9
    price_changes = story.sent("price_change")
    assert any(e["payload"]["candidate"] == "sim/slow" for e in price_changes)


async def test_a_slow_degradation_flips_once_the_leader_is_clearly_worse(tmp_path: Path
                                                                        ) -> None:
    leader, steady = model(0.05), model(0.3)
    async with Story(tmp_path, {"leader": Candidate(leader), "steady": Candidate(steady)},
                     {"chat": FAST_AND_RELIABLE}) as story:
        await story.until(lambda: story.top_choice("chat") == "sim/leader", 40,
                          "the leader as top choice")
        crossed = None
        for _ in range(40):  # TTFT creeps up 40 ms a second, from 50 ms to 1.65 s
            leader.ttft_seconds += 0.04
            if crossed is None and leader.ttft_seconds > steady.ttft_seconds:
                crossed = now_iso()
            await story.run_for(1)
            if story.top_choice("chat") == "sim/steady":
                break
        assert story.top_choice("chat") == "sim/steady"
    flip = story.decisions("chat")[-1]
    assert crossed is not None and flip.at > crossed  # not before it was actually worse
    assert flip.cause == "overtaken" and flip.payload["explanation"][0]["factor"] == "latency"
    assert len(story.decisions("chat")) <= 2  # (the first, if the start needed one) and this
