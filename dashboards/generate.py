"""Generate the Grafana dashboards in this directory: `python dashboards/generate.py`.

The JSON files are what Grafana imports; this script is their source, so the four dashboards
share one datasource variable, one layout and one style of query. A test checks the files
match it, that every metric they query is documented (docs/metrics.md), and, against a real
Prometheus scraping `factorwatch demo`, that every query evaluates and returns data.

Every query aggregates with max/min across replicas: store-backed figures are exported by
each replica alike, so a sum would count them once per replica.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DS = {"type": "prometheus", "uid": "${datasource}"}
W = "[$window]"  # probe-derived rates: probes are sparse events, so a window the user picks


def datasource_var() -> dict[str, Any]:
    return {"name": "datasource", "label": "Data source", "type": "datasource",
            "query": "prometheus", "current": {}, "hide": 0, "refresh": 1, "regex": ""}


def query_var(name: str, query: str, multi: bool = True) -> dict[str, Any]:
    return {"name": name, "label": name.capitalize(), "type": "query", "datasource": DS,
            "query": {"query": query, "refId": f"{name}-values"}, "definition": query,
            "refresh": 2, "sort": 1, "multi": multi, "includeAll": multi,
            "allValue": ".*" if multi else None, "current": {}, "hide": 0}


def custom_var(name: str, label: str, options: list[str], default: str) -> dict[str, Any]:
    return {"name": name, "label": label, "type": "custom", "query": ",".join(options),
            "current": {"text": default, "value": default}, "hide": 0, "multi": False,
            "includeAll": False,
            "options": [{"text": o, "value": o, "selected": o == default} for o in options]}


def panel(title: str, kind: str, targets: list[tuple[str, str]], unit: str = "short",
          width: int = 12, height: int = 8, instant: bool = False, description: str = "",
          **extra: Any) -> dict[str, Any]:
    """targets: (expr, legend). `instant` for tables and stats of the current value."""
    return {"title": title, "type": kind, "datasource": DS, "description": description,
            "gridPos": {"w": width, "h": height},
            "targets": [{"refId": chr(ord("A") + i), "datasource": DS, "expr": expr,
                         "legendFormat": legend, "instant": instant, "range": not instant,
                         **({"format": "table"} if kind == "table" else {})}
                        for i, (expr, legend) in enumerate(targets)],
            "fieldConfig": {"defaults": {"unit": unit, **extra.pop("defaults", {})},
                            "overrides": extra.pop("overrides", [])},
            "options": extra.pop("options", {}), **extra}


def override(name: str, properties: dict[str, Any]) -> dict[str, Any]:
    """Field settings ({"custom.lineWidth": 0, ...}) for the series or column `name`."""
    return {"matcher": {"id": "byName", "options": name},
            "properties": [{"id": key, "value": value} for key, value in properties.items()]}


def merged_table(columns: dict[str, str], hidden: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Instant queries of one table panel joined into one row per label set: `columns` maps
    Grafana's field names ("Value #A", a label) to headers, in the order shown."""
    return [{"id": "merge", "options": {}},
            {"id": "organize", "options": {
                "excludeByName": {"Time": True, **{name: True for name in hidden}},
                "indexByName": {name: i for i, name in enumerate(columns)},
                "renameByName": {k: v for k, v in columns.items() if k != v}}}]


def layout(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Left to right, wrapping at Grafana's 24 columns; ids in order."""
    x = y = row_height = 0
    for i, p in enumerate(panels, start=1):
        w, h = p["gridPos"]["w"], p["gridPos"]["h"]
        if x + w > 24:
            x, y, row_height = 0, y + row_height, 0
        p["id"], p["gridPos"] = i, {"x": x, "y": y, "w": w, "h": h}
        x, row_height = x + w, max(row_height, h)
    return panels


def dashboard(uid: str, title: str, description: str, variables: list[dict[str, Any]],
              panels: list[dict[str, Any]], time_from: str = "now-6h") -> dict[str, Any]:
    return {"uid": uid, "title": title, "description": description, "tags": ["factorwatch"],
            "timezone": "utc", "schemaVersion": 39, "version": 1, "editable": True,
            "graphTooltip": 1, "refresh": "1m", "time": {"from": time_from, "to": "now"},
            "links": [{"title": "factorwatch", "type": "dashboards", "tags": ["factorwatch"],
                       "asDropdown": True}],
            "templating": {"list": [datasource_var(), *variables]}, "annotations": {"list": []},
            "panels": layout(panels)}


# docs/scoring.md, "States", with their colours; the order gives each its code in state_code().
STATES = {"serving": "green", "degraded": "yellow", "throttled": "orange", "down": "red",
          "unknown": "#8e8e8e"}


def state_code(candidates: str) -> str:
    """factorwatch_candidate_state is one series per state, 1 for the current one: as one
    series per candidate whose value is the state's code (1 serving ... 5 unknown)."""
    codes = " or ".join(f'factorwatch_candidate_state{{candidate=~"{candidates}",state="{name}"}}'
                        f" * {code}" for code, name in enumerate(STATES, start=1))
    return f"max by (candidate) ({codes})"


def state_panel(candidates: str) -> dict[str, Any]:
    return panel("Candidate state", "state-timeline", [(state_code(candidates), "{{candidate}}")],
                 description="serving, degraded, throttled, down or unknown, judged on the "
                 "last few minutes of latency and uptime probes (docs/scoring.md, States). "
                 "A down or throttled candidate ranks after the others and never becomes the "
                 "top choice.",
                 defaults={"mappings": [{"type": "value", "options": {
                     str(code): {"text": name, "color": colour, "index": code - 1}
                     for code, (name, colour) in enumerate(STATES.items(), start=1)}}]})


PROBE_WINDOW = custom_var("window", "Rate window", ["5m", "15m", "1h", "6h"], "15m")
COUNTED = 'kind=~"latency|uptime",result!~"auth|rate_limited"'  # docs/scoring.md#definitions


def providers() -> dict[str, Any]:
    sel = 'provider=~"$provider",candidate=~"$candidate"'
    q = ("histogram_quantile({q}, sum by (candidate, le) "
         "(rate(factorwatch_probe_ttft_seconds_bucket{{" + sel + "}}" + W + ")))")
    return dashboard("factorwatch-providers", "factorwatch / Providers",
                     "Availability, latency, output speed and errors as the probes measure "
                     "them; incidents and prices as the providers declare them.",
                     [query_var("provider", "label_values(factorwatch_probe_total, provider)"),
                      query_var("candidate", 'label_values(factorwatch_probe_total{provider=~'
                                '"$provider"}, candidate)'), PROBE_WINDOW], [
        panel("Availability (probes in the rate window)", "timeseries", [(
            f'sum by (candidate) (rate(factorwatch_probe_total{{{sel},{COUNTED},result="ok"}}'
            f"{W})) / sum by (candidate) (rate(factorwatch_probe_total{{{sel},{COUNTED}}}{W}))",
            "{{candidate}}")], unit="percentunit", defaults={"max": 1}),
        panel("Availability by window (from the store)", "table", [(
            f'max by (candidate, window) (factorwatch_availability_window_ratio{{{sel}}})', "")],
            unit="percentunit", instant=True),
        state_panel("$candidate"),
        panel("429 share by window (from the store)", "table", [(
            'max by (candidate, window) (factorwatch_throttled_ratio{candidate=~"$candidate"})',
            "")], unit="percentunit", instant=True,
            description="Share of the answered latency and uptime probes that were 429s. "
            "Availability leaves 429s out, so rate limiting shows here (and, over the last "
            "few minutes, as the throttled state)."),
        panel("TTFT p50 / p95 / p99", "timeseries",
              [(q.format(q=p), f"{{{{candidate}}}} p{int(p * 100)}") for p in (0.5, 0.95, 0.99)],
              unit="s"),
        panel("Output speed (latest latency probe)", "timeseries", [(
            f"max by (candidate) (factorwatch_probe_output_tokens_per_second{{{sel}}})",
            "{{candidate}}")], unit="none", defaults={"custom": {"axisLabel": "tokens/s"}}),
        panel("Failed probes by error class", "timeseries", [(
            f'sum by (candidate, result) (increase(factorwatch_probe_total{{{sel},result!="ok"}}'
            f"{W}))", "{{candidate}} {{result}}")], options={"legend": {"displayMode": "table"}}),
        panel("End-to-end duration p95 by kind", "timeseries", [(
            "histogram_quantile(0.95, sum by (candidate, kind, le) (rate("
            f"factorwatch_probe_duration_seconds_bucket{{{sel}}}{W})))",
            "{{candidate}} {{kind}}")], unit="s"),
        panel("Open incidents (declared)", "timeseries", [(
            'max by (provider) (factorwatch_incidents_open{provider=~"$provider"})',
            "{{provider}}")], defaults={"min": 0, "decimals": 0}),
        panel("Current prices (USD per million tokens)", "table", [(
            f"max by (candidate, token) (factorwatch_price_per_million_tokens_usd{{{sel}}})", "")],
            unit="currencyUSD", instant=True),
    ])


def sla() -> dict[str, Any]:
    sel = 'provider=~"$provider"'
    return dashboard("factorwatch-sla", "factorwatch / SLA reality vs commitment",
                     "What providers commit to against what the probes observe, the error "
                     "budget it leaves, and outages declared vs observed.",
                     [query_var("provider", "label_values(factorwatch_availability_window_ratio,"
                                " provider)"),
                      custom_var("sla_window", "SLA window", ["1h", "24h", "7d", "30d"], "30d")],
                     [
        panel("Observed availability vs committed SLA", "timeseries", [
            (f'max by (candidate) (factorwatch_availability_window_ratio{{{sel},'
             'window="$sla_window"})', "{{candidate}} observed"),
            (f"max by (provider) (factorwatch_sla_committed_ratio{{{sel}}})",
             "{{provider}} committed")], unit="percentunit"),
        panel("Error budget remaining", "bargauge", [(
            f'max by (candidate) (factorwatch_error_budget_remaining_ratio{{{sel},'
            'window="$sla_window"})', "{{candidate}}")], unit="percentunit", instant=True,
            defaults={"min": -1, "max": 1, "thresholds": {"mode": "absolute", "steps": [
                {"color": "red", "value": None}, {"color": "orange", "value": 0},
                {"color": "green", "value": 0.25}]}}),
        panel("Burn rate, 1h and 24h (1 = spending exactly the budget)", "timeseries", [(
            f'max by (candidate, window) (factorwatch_error_budget_burn_rate{{{sel},'
            'window=~"1h|24h"})', "{{candidate}} {{window}}")], unit="none"),
        panel("Outage minutes, last 24 h: declared vs observed", "timeseries", [(
            f"max by (provider, measure) (factorwatch_outage_seconds{{{sel}}}) / 60",
            "{{provider}} {{measure}}")], unit="m"),
        panel("Availability by window", "table", [(
            f"max by (candidate, window) (factorwatch_availability_window_ratio{{{sel}}})", "")],
            unit="percentunit", instant=True),
        panel("Probes behind each figure", "table", [(
            f"max by (candidate, window) (factorwatch_availability_window_probes{{{sel}}})", "")],
            instant=True),
        panel("Open incidents (declared)", "timeseries", [(
            f"max by (provider) (factorwatch_incidents_open{{{sel}}})", "{{provider}}")],
            defaults={"min": 0, "decimals": 0}),
    ], time_from="now-7d")


def ranking() -> dict[str, Any]:
    sel = 'workload=~"$workload"'
    cand = f'{sel},candidate=~"$candidate"'
    return dashboard("factorwatch-ranking", "factorwatch / Workload ranking",
                     "How the candidates rank for a workload over time and how sure that is, "
                     "why (factor by factor), their states, what it costs, and when the top "
                     "choice changed.",
                     [query_var("workload", "label_values(factorwatch_composite_score, "
                                "workload)", multi=False),
                      query_var("candidate", "label_values(factorwatch_composite_score{"
                                'workload=~"$workload"}, candidate)')], [
        current_ranking(sel, cand),
        panel("Composite score per candidate (1-5)", "timeseries", [(
            f"max by (candidate) (factorwatch_composite_score{{{cand}}})", "{{candidate}}")],
            defaults={"min": 1, "max": 5}),
        panel("Top choice", "state-timeline", [(
            f"max by (candidate) (factorwatch_top_choice{{{sel}}})", "{{candidate}}")],
            defaults={"mappings": [{"type": "value", "options": {
                "0": {"text": "-", "color": "transparent"},
                "1": {"text": "top choice", "color": "green"}}}]}),
        composite_band(cand),
        state_panel("$candidate"),
        panel("Gated out", "state-timeline", [(
            f"max by (candidate) (factorwatch_gated{{{cand}}})", "{{candidate}}")],
            defaults={"mappings": [{"type": "value", "options": {
                "0": {"text": "eligible", "color": "green"},
                "1": {"text": "gated", "color": "red"}}}]}),
        panel("Factor breakdown (latest)", "table", [
            (f"max by (candidate, factor) (factorwatch_factor_score{{{cand}}})", ""),
            (f"max by (candidate, factor) (factorwatch_factor_score_low{{{cand}}})", ""),
            (f"max by (candidate, factor) (factorwatch_factor_score_high{{{cand}}})", "")],
            instant=True, defaults={"decimals": 2},
            transformations=merged_table({"candidate": "candidate", "factor": "factor",
                                          "Value #A": "score", "Value #B": "low",
                                          "Value #C": "high"}),
            description="Each factor's score with its interval; a factor without evidence "
            "has no row (it counts as the workload's missing policy says)."),
        panel("Rank (1 = first; gated candidates have none)", "timeseries", [(
            f"max by (candidate) (factorwatch_rank{{{cand}}})", "{{candidate}}")],
            defaults={"min": 1, "decimals": 0, "custom": {"transform": "negative-Y"}}),
        panel("Monthly cost at the workload's volume", "timeseries", [(
            f"max by (candidate) (factorwatch_monthly_cost_usd{{{cand}}})", "{{candidate}}")],
            unit="currencyUSD"),
        panel("Top-choice changes announced (per hour)", "timeseries", [(
            f"sum by (workload) (increase(factorwatch_top_choice_changes_total{{{sel}}}[1h]))",
            "{{workload}}")], defaults={"min": 0}),
    ], time_from="now-7d")


def current_ranking(sel: str, cand: str) -> dict[str, Any]:
    """One row per candidate: rank, state, composite and its interval, tie, top choice."""
    per_candidate = [f"max by (candidate) ({metric}{{{cand}}})" for metric in (
        "factorwatch_rank", "factorwatch_composite_score", "factorwatch_composite_score_low",
        "factorwatch_composite_score_high", "factorwatch_rank_tied", "factorwatch_top_choice")]
    state = ('(max by (candidate, state) (factorwatch_candidate_state{candidate=~"$candidate"})'
             f" == 1) and on (candidate) factorwatch_gated{{{sel}}}")  # has no workload label
    return panel("Current ranking", "table", [(q, "") for q in [*per_candidate, state]],
                 instant=True, width=24,
                 description="The latest scoring pass. low and high: the composite's interval; "
                 "tied: the candidate ranked just above is not confidently ahead of this one "
                 "(alerts.flip.confidence); a down or throttled candidate ranks after the "
                 "others and never becomes the top choice.",
                 transformations=merged_table(
                     {"Value #A": "rank", "candidate": "candidate", "state": "state",
                      "Value #B": "composite", "Value #C": "low", "Value #D": "high",
                      "Value #E": "tied", "Value #F": "top choice"}, hidden=("Value #G",)),
                 options={"sortBy": [{"displayName": "rank", "desc": False}]},
                 overrides=[
                     *[override(c, {"decimals": 2}) for c in ("composite", "low", "high")],
                     override("rank", {"decimals": 0}),
                     override("tied", {"mappings": [{"type": "value", "options": {
                         "0": {"text": "-"}, "1": {"text": "tied", "color": "yellow"}}}],
                         "custom.cellOptions": {"type": "color-text"}}),
                     override("top choice", {"mappings": [{"type": "value", "options": {
                         "0": {"text": "-"}, "1": {"text": "top choice", "color": "green"}}}],
                         "custom.cellOptions": {"type": "color-text"}}),
                     override("state", {"mappings": [{"type": "value", "options": {
                         name: {"text": name, "color": colour, "index": i}
                         for i, (name, colour) in enumerate(STATES.items())}}],
                         "custom.cellOptions": {"type": "color-background"}})])


def composite_band(cand: str) -> dict[str, Any]:
    """The composite with its interval as a shaded band, one panel per candidate: Grafana fills
    between two series named in advance, so the candidate is the repeated panel's."""
    return panel("Composite and its interval: $candidate", "timeseries", [
        (f"max by (candidate) (factorwatch_composite_score_high{{{cand}}})", "high"),
        (f"max by (candidate) (factorwatch_composite_score{{{cand}}})", "composite"),
        (f"max by (candidate) (factorwatch_composite_score_low{{{cand}}})", "low")],
        width=24, height=7, repeat="candidate", repeatDirection="h", maxPerRow=3,
        description="The band is the composite's interval at scoring.confidence "
        "(docs/scoring.md, How sure is a score). Which candidates are tied: the Current "
        "ranking table.",
        defaults={"min": 1, "max": 5, "decimals": 2,
                  "color": {"mode": "fixed", "fixedColor": "blue"}},
        overrides=[override("high", {"custom.fillBelowTo": "low", "custom.fillOpacity": 25,
                                     "custom.lineWidth": 0}),
                   override("low", {"custom.lineWidth": 0})])


def itself() -> dict[str, Any]:
    return dashboard("factorwatch-self", "factorwatch / factorwatch itself",
                     "Is the monitor healthy: up, probing on time, a responsive event loop, "
                     "probe spend, alert delivery, sources and the store.",
                     [custom_var("job", "Prometheus job", ["factorwatch"], "factorwatch")], [
        panel("Up", "stat", [('up{job="$job"}', "{{instance}}")], width=6, height=4,
              instant=True),
        panel("Leader / replicas", "stat", [("max(factorwatch_leader)", "leader"),
                                            ("max(factorwatch_cluster_replicas)", "replicas")],
              width=6, height=4, instant=True),
        panel("Store reachable", "stat", [("min(factorwatch_store_up)", "store up")],
              width=6, height=4, instant=True),
        panel("Results waiting to be written", "stat", [(
            "max(factorwatch_store_buffered_results)", "buffered")], width=6, height=4,
            instant=True),
        panel("Probe lag: time since last probe / configured interval", "timeseries", [(
            "max by (candidate, kind) ((time() - factorwatch_last_probe_timestamp_seconds) / "
            "factorwatch_probe_interval_seconds)", "{{candidate}} {{kind}}")],
            description="Above 1 a probe is late; above 3 something is wrong (or its probe "
            "budget is spent)."),
        panel("Event-loop lag p50 / p99", "timeseries", [(
            f"histogram_quantile({q}, sum by (instance, le) "
            "(rate(factorwatch_event_loop_lag_seconds_bucket[$__rate_interval])))",
            f"{{{{instance}}}} p{int(q * 100)}") for q in (0.5, 0.99)], unit="s"),
        panel("Probe spend per hour (USD)", "timeseries", [(
            "sum by (candidate) (increase(factorwatch_probe_spend_usd_total[1h]))",
            "{{candidate}}")], unit="currencyUSD"),
        panel("Probe budget exhausted", "state-timeline", [(
            "max by (candidate) (factorwatch_probe_budget_exhausted)", "{{candidate}}")]),
        panel("Alerts sent by sink and result (per hour)", "timeseries", [(
            "sum by (sink, result) (increase(factorwatch_alerts_sent_total[1h]))",
            "{{sink}} {{result}}")]),
        panel("Alerts pending delivery", "timeseries", [(
            "max by (sink) (factorwatch_alerts_pending)", "{{sink}}")]),
        panel("Scoring passes (per hour) and age of the last one", "timeseries", [
            ("sum by (result) (increase(factorwatch_scoring_runs_total[1h]))", "{{result}}"),
            ("time() - max by (workload) (factorwatch_last_evaluation_timestamp_seconds)",
             "{{workload}} age (s)")]),
        panel("Status pages and price lists: seconds since last read", "timeseries", [(
            "time() - max by (kind, source) "
            "(factorwatch_source_last_success_timestamp_seconds)", "{{kind}} {{source}}")],
            unit="s"),
        panel("Build", "table", [("max by (version) (factorwatch_build_info)", "")],
              instant=True, width=24, height=4),
    ], time_from="now-6h")


DASHBOARDS = {"providers.json": providers, "sla.json": sla, "ranking.json": ranking,
              "factorwatch.json": itself}


def build() -> dict[str, str]:
    return {name: json.dumps(make(), indent=2) + "\n" for name, make in DASHBOARDS.items()}


if __name__ == "__main__":
    for name, text in build().items():
        (HERE / name).write_text(text, encoding="utf-8")
        print(f"wrote dashboards/{name}")
