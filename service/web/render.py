"""HTML for the overview page: small functions that escape everything they are given.

No template engine: the page is a handful of tables, and f-strings with html.escape keep
it one dependency lighter. Every value from the store or the config goes through `e()`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from html import escape
from typing import TYPE_CHECKING, Any

from service.scoring.evidence import AVAILABILITY_WINDOWS
from service.store.models import ProviderHonestyRow
from service.web.style import CSS

if TYPE_CHECKING:
    from service.web.overview import Overview

TOP_REASONS = 2


def e(value: object) -> str:
    return escape("" if value is None else str(value))


def when(at: datetime | str | None) -> str:
    if at is None:
        return "-"
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return f'<time datetime="{e(at.isoformat())}">{at:%Y-%m-%d %H:%M:%S}Z</time>'


def pct(ratio: float | None, digits: int = 3) -> str:
    return "-" if ratio is None else f"{ratio * 100:.{digits}f}%"


def table(head: Iterable[str], rows: Iterable[str], cls: str = "") -> str:
    ths = "".join(f"<th>{h}</th>" for h in head)
    body = "".join(rows) or '<tr><td colspan="9" class="none">nothing yet</td></tr>'
    return (f'<div class="scroll"><table class="{cls}"><thead><tr>{ths}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def top_reasons(entry: dict[str, Any], count: int = TOP_REASONS) -> list[str]:
    """The factors that weigh most in the composite, as in `factorwatch score`."""
    weighted = sorted(((f["weight"] * f["score"], name, f) for name, f in entry["factors"].items()
                       if f["score"] is not None and f["weight"] > 0),
                      key=lambda t: (-t[0], t[1]))
    return [f"{name} {f['score']:.1f}: {f.get('reason', '')}" for _, name, f in weighted[:count]]


def _composite_cell(entry: dict[str, Any]) -> str:
    if entry["composite"] is None:
        return '<td class="num">-</td>'
    low, high = entry.get("composite_low"), entry.get("composite_high")
    interval = ("" if low is None or high is None or low == high
                else f'<div class="interval">{low:.2f}&ndash;{high:.2f}</div>')
    star = "*" if entry.get("partial") else ""
    return f'<td class="num">{entry["composite"]:.2f}{star}{interval}</td>'


def _badges(entry: dict[str, Any], is_top: bool) -> str:
    state = entry.get("state") or "unknown"
    out = ' <span class="badge">top choice</span>' if is_top else ""
    if state != "serving":
        out += (f' <span class="state state-{e(state)}" title="{e(entry.get("state_reason"))}">'
                f"{e(state)}</span>")
    if entry.get("tied"):
        out += ' <span class="state tie" title="statistically tied with the one above">tied</span>'
    return out


def ranking_section(doc: dict[str, Any], description: str) -> str:
    workload, top = doc["workload"], doc.get("top_choice")
    policy = doc.get("missing_policy") or "worst"
    rows = []
    for entry in doc["ranking"]:
        is_top = entry["candidate"] == top
        if entry["gated"]:
            why = "".join(f'<span class="gate">gated: {e(r)}</span>' for r in entry["gate_reasons"])
        else:
            why = "<br>".join(e(r) for r in top_reasons(entry)) or "no evidence yet"
        notes = "".join(f'<div class="note">{e(n)}</div>' for n in entry.get("notes", []))
        if entry.get("state") in ("down", "throttled", "degraded"):
            notes += f'<div class="note">{e(entry["state"])}: {e(entry.get("state_reason"))}</div>'
        if entry.get("missing"):
            notes += (f'<div class="note">no evidence: {e(", ".join(entry["missing"]))}</div>')
        rows.append(f'<tr class="{"top" if is_top else ""}{" gated" if entry["gated"] else ""}">'
                    f'<td class="num">{e(entry["rank"] or "-")}</td>'
                    f'<td class="cand">{e(entry["candidate"])}{_badges(entry, is_top)}</td>'
                    f"{_composite_cell(entry)}<td>{why}{notes}</td></tr>")
    if any(entry.get("partial") for entry in doc["ranking"]):
        counted = {"worst": "counted at the lowest score, 1", "prior": "counted at 3",
                   "drop": "left out of the composite"}.get(policy, policy)
        rows.append('<tr><td colspan="4" class="note">* partial: some weighted factors have '
                    f"no evidence yet ({e(counted)})</td></tr>")
    leader = doc.get("leader")
    lead_note = (f' <span class="muted">(rank 1 now: {e(leader)}, not yet confirmed)</span>'
                 if leader and leader != top else "")
    confidence = doc.get("confidence")
    level = f" &middot; intervals at {confidence:.0%}" if confidence else ""
    return (f'<section class="workload" id="wl-{e(workload)}"><h2>{e(workload)}</h2>'
            f'<p class="muted">{e(description)}</p>'
            f'<p class="leader">Top choice: <strong data-top-choice="{e(workload)}">'
            f'{e(top or "none")}</strong>{lead_note} &middot; evaluated {when(doc["evaluated_at"])}'
            f"{level}</p>{table(['#', 'candidate', 'composite', 'why'], rows, 'ranking')}"
            "</section>")


def _avail_cell(ratio: float | None, committed: float | None) -> str:
    cls = "" if ratio is None or committed is None else ("ok" if ratio >= committed else "bad")
    return f'<td class="num {cls}">{pct(ratio)}</td>'


def sla_section(view: Overview) -> str:
    rows = []
    for row in view.sla:
        windows = [row.windows[w] for w in AVAILABILITY_WINDOWS if w in row.windows]
        scored = next((w for w in reversed(windows) if w.stats.counted), None)
        remaining = scored.error_budget_remaining if scored else None
        budget = "-" if remaining is None or scored is None else \
            f"{remaining:.0%} ({scored.window})"
        rows.append(f'<tr><td class="cand">{e(row.candidate)}</td>'
                    f'<td class="num">{pct(row.committed)}</td>'
                    + "".join(_avail_cell(w.availability, row.committed) for w in windows)
                    + f'<td class="num {"bad" if remaining is not None and remaining < 0 else ""}">'
                    f"{e(budget)}</td></tr>")
    outages = [f'<tr><td>{e(p)}</td><td class="num">{s.declared_minutes:.0f}</td>'
               f'<td class="num">{s.observed_minutes}</td>'
               f'<td class="num {"bad" if s.undeclared_minutes else ""}">{s.undeclared_minutes}'
               "</td></tr>" for p, s in sorted(view.outages.items())]
    return ('<section id="sla"><h2>SLA: reality vs commitment</h2>'
            + table(["candidate", "committed", *AVAILABILITY_WINDOWS, "error budget left"], rows)
            + "<h3>Outage minutes, last 24 hours</h3>"
            + table(["provider", "declared", "observed", "undeclared"], outages)
            + statements_section(view) + "</section>")


def statements_section(view: Overview) -> str:
    """Monthly statements under SLA contracts (docs/sla.md); nothing without a contract."""
    if not view.sla_statements:
        return ""
    rows = []
    for d in view.sla_statements:
        credit = "-" if d["credit_share"] is None else f"{d['credit_share']:.0%}"
        if d["credit_usd"] is not None:
            credit += f" ({d['credit_usd']:.2f} USD)"
        risk = " at risk" if d["budget"]["at_risk"] else ""
        rows.append(f"<tr><td>{e(d['provider'])}</td><td>{e(d['month'])}</td>"
                    f"<td>{e(d['state'])}{e(risk)}</td>"
                    f'<td class="num">{pct(d["availability"])}</td>'
                    f'<td class="num">{pct(d["coverage"], 1)}</td>'
                    f'<td class="{"bad" if d["verdict"] == "due" else ""}">{e(d["verdict"])}</td>'
                    f"<td>{e(credit)}</td><td>{e(d['reason'])}</td></tr>")
    return ('<h3 id="sla-statements">SLA statements under the contract</h3>'
            + table(["provider", "month", "state", "availability", "coverage", "verdict",
                     "credit", "why"], rows))


def incidents_section(view: Overview) -> str:
    rows = [f"<tr><td>{e(i.provider)}</td><td>{e(i.title)}</td><td>{e(i.status)}</td>"
            f"<td>{e(i.impact or '-')}</td><td>{when(i.started_at)}</td></tr>"
            for i in view.open_incidents]
    return ('<section id="incidents"><h2>Open incidents</h2>'
            + table(["provider", "title", "status", "impact", "since"], rows) + "</section>")


def changes_section(view: Overview) -> str:
    flips = [f"<tr><td>{when(ev.created_at)}</td><td>{e(ev.payload.get('workload'))}</td>"
             f"<td>{e(ev.payload.get('old') or 'none')} &rarr; "
             f"<strong>{e(ev.payload.get('new') or 'none')}</strong></td>"
             f"<td>{e(ev.payload.get('reason'))}</td></tr>" for ev in view.top_choice_changes]
    prices = []
    for new, old in view.price_changes:
        def fig(name: str, new: Any = new, old: Any = old) -> str:
            before = getattr(old, name) if old is not None else None
            after = getattr(new, name)
            if old is None:
                return f"${after:g} (first known)"
            return f"${after:g}" if before == after else f"${before:g} &rarr; ${after:g}"
        prices.append(f"<tr><td>{when(new.effective_at)}</td><td>{e(new.candidate_id)}</td>"
                      f"<td>{e(new.source)}</td><td>{fig('input_per_mtok')}</td>"
                      f"<td>{fig('output_per_mtok')}</td></tr>")
    return ('<section id="changes"><h2>Recent top-choice changes</h2>'
            + table(["when", "workload", "change", "why"], flips)
            + "<h2>Recent price changes</h2><p class=\"muted\">USD per million tokens</p>"
            + table(["effective", "candidate", "source", "input", "output"], prices)
            + "</section>")


# --- status-page honesty: the hourly job's saved figures (service/outages/honesty_job.py) ---
def minutes(seconds: float | None) -> str:
    """Signed minutes, one decimal: `+12.0 min` late, `-5.0 min` early; `-` for none."""
    return "-" if seconds is None else f"{seconds / 60:+.1f} min"


def honesty_row(h: ProviderHonestyRow) -> str:
    share = h.undeclared / h.outages if h.outages else None
    return (f'<tr><td>{e(h.provider)}</td><td class="num">{h.outages}</td>'
            f'<td class="num {"bad" if h.undeclared else ""}">{h.undeclared}'
            f" ({pct(share, 0)})</td>"
            f'<td class="num">{minutes(h.median_delay_seconds)} / '
            f"{minutes(h.p90_delay_seconds)}</td>"
            f'<td class="num">{minutes(h.median_lag_seconds)} ({h.early_resolutions} early)</td>'
            f'<td class="num">{h.incidents_observed} / {h.incidents_no_impact} / '
            f"{h.incidents_unknown}</td><td>{when(h.computed_at)}</td></tr>")


def honesty_section(figures: Mapping[str, ProviderHonestyRow]) -> str:
    rows = [honesty_row(h) for _, h in sorted(figures.items())]
    return ('<section id="honesty"><h2>Status-page honesty, last 30 days</h2>'
            '<p class="muted">Declared late: median / p90 of the incident\'s start minus the '
            "outage the probes saw first (negative: declared first). Resolved: median of the "
            '"resolved" time minus the probes\' recovery (negative: early). Incidents: with '
            "observed impact / none / unknown (too few probes in their span). "
            '<a href="/api/v1/honesty">API</a>, per month: /api/v1/providers/{p}/honesty.</p>'
            + table(["provider", "outages", "undeclared", "declared late", "resolved",
                     "incidents", "judged"], rows) + "</section>")


def render_overview(view: Overview) -> str:
    nav = "".join(f'<a href="#wl-{e(d["workload"])}">{e(d["workload"])}</a>'
                  for d in view.rankings)
    workloads = "".join(ranking_section(d, view.descriptions.get(d["workload"], ""))
                        for d in view.rankings) or (
        '<p class="none">No workload has been scored yet: the first scoring pass runs '
        "shortly after start.</p>")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,"><title>factorwatch</title>'
        f"<style>{CSS}</style></head><body><header><h1>factorwatch</h1>"
        f'<p class="muted">version {e(view.version)} &middot; {when(view.generated_at)} &middot; '
        '<a href="/docs">API</a> &middot; <a href="/metrics">metrics</a></p>'
        f'<nav>{nav}<a href="#sla">SLA</a><a href="#incidents">incidents</a>'
        '<a href="#changes">changes</a><a href="#honesty">honesty</a></nav></header><main>'
        f"{workloads}{sla_section(view)}{incidents_section(view)}{changes_section(view)}"
        f"{honesty_section(view.honesty)}"
        "</main></body></html>")
