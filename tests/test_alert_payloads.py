"""Each sink's pure payload builder against golden JSON, and Slack's limits.

A golden file that does not exist yet is written and the test fails: review the file, commit
it, re-run. To change a format on purpose, delete its golden file(s) and re-run.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.sinks.alertmanager import AlertmanagerSink
from service.sinks.base import (
    Message,
    SinkError,
    SinkSpec,
    check_response,
    retry_after_seconds,
)
from service.sinks.events import AlertEvent
from service.sinks.render import Links
from service.sinks.slack import MAX_BLOCKS, SlackSink
from service.sinks.webhook import WebhookSink, signature, verify_signature
from tests.clock import T0

GOLDEN = Path(__file__).parent / "golden"
LINKS = Links(dashboard="https://grafana.example/d/fw?var-workload={workload}",
              api="https://factorwatch.example")
PROVIDERS = {"openai/gpt-4o-mini": "openai", "anthropic/claude-haiku": "anthropic"}


def event(id_: int, type_: str, payload: dict[str, Any], severity: str = "info",
          at: datetime = T0) -> AlertEvent:
    return AlertEvent.of(id_, type_, severity, f"{type_}:{id_}", at, payload, PROVIDERS)


TOP_CHOICE = event(1, "top_choice_changed", {
    "workload": "consumer-chat", "old": "openai/gpt-4o-mini", "new": "anthropic/claude-haiku",
    "old_composite": 3.91, "new_composite": 4.12, "immediate": False,
    "reason": "anthropic/claude-haiku led by 0.21 (margin 0.1) for 3 consecutive evaluations",
    "explanation": [
        {"factor": "latency", "delta": 0.3, "weight": 5, "new_score": 4.6, "old_score": 3.1,
         "new_reason": "TTFT p99 0.41s against a 0.8s budget", "old_reason": "p99 0.93s"},
        {"factor": "cost", "delta": -0.1, "weight": 3, "new_score": 3.0, "old_score": 3.5,
         "new_reason": "$412/month", "old_reason": "$301/month"}],
    "evaluated_at": T0.isoformat()}, "info")
INCIDENT = event(2, "incident_opened", {
    "provider": "openai", "external_id": "inc-42", "title": "Elevated errors on <Chat> & co",
    "status": "investigating", "impact": "major"}, "warning")
INCIDENT_END = event(3, "incident_resolved", {
    "provider": "openai", "external_id": "inc-42", "title": "Elevated errors on <Chat> & co",
    "status": "resolved", "impact": "major"}, "info", T0 + timedelta(minutes=40))
BREACH = event(4, "sla_breach", {
    "candidate": "openai/gpt-4o-mini", "provider": "openai", "sla": 0.999, "threshold": 14.4,
    "state": "firing", "episode": T0.isoformat(),
    "windows": [{"window": "1h", "burn_rate": 30.0}, {"window": "5m", "burn_rate": 100.0}]},
    "critical")


def spec(type_: str) -> SinkSpec:
    return SinkSpec(name=type_, type=type_, url="https://hooks.example/T0/B0/SECRETSECRET",
                    secret="s3cret", links=LINKS)


def check_golden(name: str, payload: Any) -> None:
    path = GOLDEN / f"{name}.json"
    text = json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if not path.exists():
        path.write_text(text)
        pytest.fail(f"wrote {path.name}: review it and re-run")
    assert json.loads(text) == json.loads(path.read_text())


GOLDEN_CASES = [
    ("slack_top_choice", SlackSink, (TOP_CHOICE,)),
    ("slack_group", SlackSink, (INCIDENT, BREACH, INCIDENT_END)),
    ("webhook_group", WebhookSink, (TOP_CHOICE, INCIDENT)),
    ("alertmanager_incident", AlertmanagerSink, (INCIDENT, INCIDENT_END, TOP_CHOICE)),
]


@pytest.mark.parametrize(("name", "sink", "events"), GOLDEN_CASES,
                         ids=[c[0] for c in GOLDEN_CASES])
def test_payload_matches_golden(name: str, sink: Any, events: tuple[AlertEvent, ...]) -> None:
    built = sink(spec(name.split("_")[0])).build_payload(Message("fw-key-1", events))
    check_golden(name, built)
    assert "SECRETSECRET" not in json.dumps(built)


def test_slack_message_stays_within_block_and_text_limits() -> None:
    long_title = {**INCIDENT.payload, "title": "x" * 5000}
    many = tuple(event(100 + i, "incident_opened", {**long_title, "external_id": f"i{i}"},
                       "warning") for i in range(60))
    built = SlackSink(spec("slack")).build_payload(Message("k", many))
    blocks = built["blocks"]
    assert len(blocks) <= MAX_BLOCKS
    assert blocks[-1]["elements"][0]["text"] == "… and 44 more events"
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section")
    assert len(blocks[0]["text"]["text"]) <= 150
    assert len(built["text"]) <= 3000


def test_alertmanager_resolution_ends_the_alert_its_firing_started() -> None:
    sink = AlertmanagerSink(spec("alertmanager"))
    firing = sink.build_payload(Message("k", (INCIDENT,)))[0]
    ended = sink.build_payload(Message("k", (INCIDENT_END,)))
    same = [a for a in ended if a["labels"] == firing["labels"]]
    assert len(same) == 1 and same[0]["endsAt"] == "2026-11-28T12:40:00Z"
    assert {a["labels"]["severity"] for a in ended} == {"info", "warning", "critical"}


def test_alertmanager_labels_keep_what_the_event_is_about() -> None:
    stale = event(5, "status_source_stale", {"provider": "openai",
                                             "source": "https://status.openai.com/feed"})
    labels = AlertmanagerSink(spec("alertmanager")).build_payload(Message("k", (stale,)))[0][
        "labels"]
    assert (labels["source"], labels["app"]) == ("https://status.openai.com/feed",
                                                 "factorwatch")


def test_webhook_signature_verifies_and_refuses_tampering_and_replays() -> None:
    body = b'{"events":[]}'
    sig = signature("s3cret", "1000", body)
    assert verify_signature("s3cret", "1000", body, sig, now=1010)
    assert not verify_signature("s3cret", "1000", body + b" ", sig, now=1010)
    assert not verify_signature("other", "1000", body, sig, now=1010)
    assert not verify_signature("s3cret", "1000", body, sig, now=1000 + 301)


@pytest.mark.parametrize(("value", "seconds"), [
    ("7", 7.0), ("0", 0.0), ("-5", 0.0), ("1.5", 1.5), ("Sat, 28 Nov 2026 12:00:30 GMT", 30.0),
    ("soon", None), ("", None), (None, None), ("999999999", 86400.0),
])
def test_retry_after_reads_seconds_or_an_http_date(value: str | None,
                                                   seconds: float | None) -> None:
    assert retry_after_seconds(value, now=T0.timestamp()) == seconds


# retry_after: every answer's Retry-After is read (3 s here), except a redirect's; the
# sender waits for it only on a failure it will retry (a permanent one is given up).
@pytest.mark.parametrize(("status", "permanent", "retry_after"), [
    (400, True, 3.0), (401, True, 3.0), (403, True, 3.0), (404, True, 3.0), (410, True, 3.0),
    (301, True, None),
    (408, False, 3.0), (425, False, 3.0), (429, False, 3.0), (500, False, 3.0),
    (502, False, 3.0), (503, False, 3.0),
])
def test_response_status_says_whether_a_retry_can_help(status: int, permanent: bool,
                                                       retry_after: float | None) -> None:
    response = httpx.Response(status, headers={"retry-after": "3"},
                              text="bad hook /T0/B0/SECRETSECRET")
    with pytest.raises(SinkError) as err:
        check_response(response, spec("slack"))
    assert err.value.permanent is permanent
    assert "SECRETSECRET" not in str(err.value)
    assert err.value.retry_after == retry_after


def test_success_statuses_pass() -> None:
    for status in (200, 201, 202, 204):
        check_response(httpx.Response(status), spec("slack"))


def _down_flip_event() -> AlertEvent:
    """A real change from flip.decide: the top choice went down, its latency probes fail."""
    from dataclasses import asdict

    from service.scoring.base import FactorScore
    from service.scoring.flip import TopChoiceState, decide
    from service.scoring.ranking import RankedCandidate, Ranking

    weights = {"latency": 1.0, "reliability": 1.0, "compliance": 1.0}

    def entry(name: str, rank: int, state: str, reason: str,
              factors: dict[str, FactorScore]) -> RankedCandidate:
        return RankedCandidate(name, rank, 3.0, False, False, (), (), factors, weights,
                               2.5, 3.5, (), state, reason)

    same_compliance = FactorScore(4.0, "static", "holds 3 of 5")
    healthy = entry("anthropic/claude-haiku", 1, "serving", "12 of 12 probes succeeded", {
        "latency": FactorScore(4.2, "measured", "TTFT p99 0.400s (60 probes)", low=3.9,
                               high=4.5),
        "reliability": FactorScore(3.6, "measured", "99.9% available", low=2.9, high=4.4),
        "compliance": same_compliance})
    down = entry("openai/gpt-4o-mini", 2, "down",
                 "14 of 14 probes failed since 10:02:00Z (http_5xx 503 x14)", {
                     "latency": FactorScore(None, "missing",
                                            "no successful latency probe in the window"),
                     "reliability": FactorScore(3.1, "measured", "99.5% available", low=2.2,
                                                high=4.0),
                     "compliance": same_compliance})
    state = TopChoiceState("openai/gpt-4o-mini", T0, "openai/gpt-4o-mini", 2)  # out twice
    _, change = decide(state, Ranking("consumer-chat", T0, (healthy, down)), 0.1, 3)
    assert change is not None
    return event(6, "top_choice_changed", {**asdict(change), "evaluated_at": T0.isoformat()},
                 "warning")


def test_down_flip_message_says_why_with_intervals_and_leaves_out_equal_factors() -> None:
    built = SlackSink(spec("slack")).build_payload(Message("k", (_down_flip_event(),)))
    check_golden("slack_top_choice_down", built)
    text = json.dumps(built, ensure_ascii=False)
    assert "openai/gpt-4o-mini is down: 14 of 14 probes failed since 10:02:00Z" in text
    assert "latency: missing → 4.20 [3.90, 4.50] (no successful latency probe" in text
    assert "reliability: 3.10 [2.20, 4.00] → 3.60 [2.90, 4.40]" in text
    assert "compliance" not in text  # the same on both sides: not what moved
