"""Words for an event: one headline, the reasons behind it, and links. Pure, shared by sinks.

Every sink says the same thing in its own format; the words live here once. Text comes from
the payload the producer saved, so a message can be rebuilt identically on a retry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from string import Formatter
from typing import Any
from urllib.parse import quote

from service.scoring.baseline import seconds
from service.sinks.events import AlertEvent

MAX_REASONS = 3


def span(seconds: float) -> str:
    """3600 -> '1h', 300 -> '5m', 86400 -> '1d'."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _num(value: Any, fmt: str = ".2f") -> str:
    return format(value, fmt) if isinstance(value, int | float) else "n/a"


def _pct(value: Any) -> str:
    if not isinstance(value, int | float):
        return "n/a"
    return f"{value * 100:.3f}".rstrip("0").rstrip(".") + "%"


def _top_choice(p: Mapping[str, Any]) -> str:
    regions = p.get("regions") or []  # with several regions: those that agree
    where = f" in {', '.join(map(str, regions))}" if regions else ""
    old = (f"{p.get('old')} is {p.get('old_state')}{where}" if p.get("cause") == "unavailable"
           else f"{p.get('old') or 'none'} ({_num(p.get('old_composite'))})")
    return f"{p.get('workload')}: {old} → {p.get('new') or 'none'} ({_num(p.get('new_composite'))})"


def scored(score: Any, interval: Any = None) -> str:
    """'3.10', '3.10 [2.80, 3.40]' with an interval wider than the score, 'missing' without."""
    if not isinstance(score, int | float):
        return "missing"
    text = _num(score)
    if isinstance(interval, list | tuple) and len(interval) == 2 \
            and (interval[0] != score or interval[1] != score):
        text += f" [{_num(interval[0])}, {_num(interval[1])}]"
    return text


def _burn(p: Mapping[str, Any]) -> str:
    if p.get("state") == "resolved":
        return (f"{p.get('candidate')}: error budget burn back under the alert threshold "
                f"(SLA {_pct(p.get('sla'))})")
    windows = " and ".join(f"{_num(w.get('burn_rate'), '.1f')}x over {w.get('window')}"
                           for w in p.get("windows") or [])
    return (f"{p.get('candidate')} burns its error budget at {windows} (alert above "
            f"{_num(p.get('threshold'), 'g')}x; SLA {_pct(p.get('sla'))})")


def _budget(p: Mapping[str, Any]) -> str:
    return (f"{p.get('candidate')}: 30-day availability {_pct(p.get('availability'))} vs SLA "
            f"{_pct(p.get('sla'))} ({p.get('probes')} probes)")


def _probe_failing(p: Mapping[str, Any]) -> str:
    status = f" HTTP {p['http_status']}" if p.get("http_status") else ""
    return (f"{p.get('candidate')}: last {p.get('failures')} probes failed with "
            f"{p.get('error_class')}{status}")


def _incident(p: Mapping[str, Any]) -> str:
    impact = f", impact {p['impact']}" if p.get("impact") else ""
    return f"{p.get('provider')}: {p.get('title')} ({p.get('status')}{impact})"


def _outage(p: Mapping[str, Any]) -> str:
    regions = p.get("regions") or []  # with several regions: those that agree
    where = f" in {', '.join(map(str, regions))}" if regions else ""
    return (f"{p.get('provider')}: down{where} {_num(p.get('down_minutes'), 'g')} min from "
            f"{p.get('started_at')} with no declared incident")


def _price(p: Mapping[str, Any]) -> str:
    old, new = p.get("old") or {}, p.get("new") or {}
    return (f"{p.get('candidate')}: input {_num(old.get('input_per_mtok'), 'g')} → "
            f"{_num(new.get('input_per_mtok'), 'g')}, output "
            f"{_num(old.get('output_per_mtok'), 'g')} → "
            f"{_num(new.get('output_per_mtok'), 'g')} USD per million tokens")


def _stale(p: Mapping[str, Any]) -> str:
    minutes = _num((p.get("stale_for_seconds") or 0) / 60, ".0f")
    return f"{p.get('provider')}: {p.get('source')} unreadable for {minutes} min"


def _retired(p: Mapping[str, Any]) -> str:
    return (f"{p.get('candidate')}: {p.get('entry')} is no longer on {p.get('source')} "
            f"(last seen {p.get('last_seen_at')})")


def _month_at_risk(p: Mapping[str, Any]) -> str:
    return (f"{p.get('provider')} {p.get('month')}: {_num(p.get('down_minutes'), 'g')} min "
            f"down, on course for {_num(p.get('projected_down_minutes'), 'g')} of "
            f"{_num(p.get('allowed_minutes'), 'g')} allowed")


ROUTING_SHOWN = 4  # candidates named per order in a routing headline


def _routing(p: Mapping[str, Any]) -> str:
    def order(key: str) -> str:
        names = [str(r.get("candidate")) for r in p.get(key) or []]
        shown = ", ".join(names[:ROUTING_SHOWN])
        more = f" +{len(names) - ROUTING_SHOWN}" if len(names) > ROUTING_SHOWN else ""
        return (shown + more) or "none"
    return f"{p.get('workload')}: routing {order('old_order')} → {order('new_order')}"


def _latency(p: Mapping[str, Any]) -> str:
    # The reasons line spells out windows and threshold; the headline gives the two figures.
    now, base = p.get("current_p95_seconds"), p.get("baseline_p95_seconds")
    if not isinstance(now, int | float) or not isinstance(base, int | float):
        return f"{p.get('candidate')}: {p.get('reason')}"
    verb = "back to" if p.get("state") == "resolved" else "at"
    return (f"{p.get('candidate')}: TTFT p95 {verb} {seconds(now)}, "
            f"x{_num(p.get('ratio'), '.1f')} its baseline {seconds(base)}")


_HEADLINES: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "top_choice": _top_choice, "sla_breach": _burn, "error_budget_exhausted": _budget,
    "probe_failing": _probe_failing, "incident": _incident, "outage_undeclared": _outage,
    "price_change": _price, "status_source_stale": _stale, "model_retired": _retired,
    "routing": _routing, "latency_degraded": _latency, "sla_month_at_risk": _month_at_risk,
}


def headline(event: AlertEvent) -> str:
    """One line that says what happened."""
    make = _HEADLINES.get(event.kind.family)
    return make(event.payload) if make else (event.subject or event.key)


def title(event: AlertEvent) -> str:
    return event.kind.title


def reasons(event: AlertEvent) -> list[str]:
    """Why, in a few lines: the rule that fired and the factors that separate the old and the
    new choice, with their intervals (factors equal on both sides are not listed)."""
    p = event.payload
    out = [str(p["reason"])] if p.get("reason") else []
    for row in (p.get("explanation") or [])[:MAX_REASONS]:
        # The side without evidence says why it has none; otherwise the new choice's reason.
        old_missing = not isinstance(row.get("old_score"), int | float)
        why = (row.get("old_reason") if old_missing else row.get("new_reason")) or ""
        out.append(f"{row.get('factor')}: {scored(row.get('old_score'), row.get('old_interval'))}"
                   f" → {scored(row.get('new_score'), row.get('new_interval'))}"
                   + (f" ({why})" if why else ""))
    return out


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


@dataclass(frozen=True)
class Links:
    """Where a reader goes next: the dashboard (a URL template) and factorwatch's API."""

    dashboard: str | None = None  # may use {workload}, {candidate}, {provider}
    api: str | None = None  # base URL of factorwatch's HTTP API

    def for_event(self, event: AlertEvent) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.dashboard:
            values = _Blank(workload=quote(event.workload or "", safe=""),
                            candidate=quote(",".join(event.candidates), safe=""),
                            provider=quote(",".join(event.providers), safe=""))
            out["dashboard"] = Formatter().vformat(self.dashboard, (), values)
        if self.api and event.workload:
            out["api"] = (f"{self.api.rstrip('/')}/api/v1/workloads/"
                          f"{quote(event.workload, safe='')}/ranking")
        return out
