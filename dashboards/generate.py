"""Generate the Grafana dashboards in this directory: `python dashboards/generate.py`.

The JSON files are what Grafana imports; this script is their source, written with Grafana's
own builders (grafana-foundation-sdk, the `test` extra in pyproject.toml), so the four
dashboards share one datasource variable, one layout and one style of query. A test checks the
files match it, that every metric they query is documented (docs/metrics.md), and, against a
real Prometheus scraping `factorwatch demo`, that every query evaluates and returns data.

Every query aggregates with max/min across replicas: store-backed figures are exported by
each replica alike, so a sum would count them once per replica.

Each panel is one function call; a dashboard is its variables and its list of panels, which
the SDK lays out left to right in Grafana's 24 columns, starting a row when one is full (a
test checks that no panel sticks out: keep full-width panels after an even number of
half-width ones).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from grafana_foundation_sdk.builders import (
    bargauge,
    prometheus,
    stat,
    statetimeline,
    table,
    timeseries,
)
from grafana_foundation_sdk.builders import common as common_builder
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

HERE = Path(__file__).resolve().parent
DS = model.DataSourceRef(type_val="prometheus", uid="${datasource}")
W = "[$window]"  # probe-derived rates: probes are sparse events, so a window the user picks

# A panel builder of any kind: they share the panel-level methods used below.
P = TypeVar("P", timeseries.Panel, table.Panel, stat.Panel, statetimeline.Panel,
            bargauge.Panel)
AnyPanel = timeseries.Panel | table.Panel | stat.Panel | statetimeline.Panel | bargauge.Panel
Target = tuple[str, str]  # (PromQL expression, legend)


# --- Variables -------------------------------------------------------------------------------

def datasource_var() -> dash.DatasourceVariable:
    return dash.DatasourceVariable("datasource").label("Data source").type("prometheus")


def query_var(name: str, query: str, multi: bool = True) -> dash.QueryVariable:
    variable = (dash.QueryVariable(name).label(name.capitalize()).datasource(DS)
                .query({"query": query, "refId": f"{name}-values"})
                .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
                .sort(model.VariableSort.ALPHABETICAL_ASC).multi(multi).include_all(multi))
    return variable.all_value(".*") if multi else variable


def custom_var(name: str, label: str, options: list[str], default: str) -> dash.CustomVariable:
    return (dash.CustomVariable(name).label(label).values(",".join(options))
            .current(model.VariableOption(text=default, value=default))
            .options([model.VariableOption(text=o, value=o, selected=o == default)
                      for o in options]))


# --- Panels ----------------------------------------------------------------------------------

def with_queries(panel: P, title: str, targets: Sequence[Target], *, unit: str = "short",
                 width: int = 12, height: int = 8, instant: bool = False,
                 table_format: bool = False, description: str = "") -> P:
    """What every panel has: title, data source, size, unit and its queries (refIds A, B, ...).
    `instant` for tables and stats of the current value; `table_format` for tables."""
    panel.title(title).datasource(DS).span(width).height(height).unit(unit)
    if description:
        panel.description(description)
    for i, (expr, legend) in enumerate(targets):
        query = (prometheus.Dataquery().ref_id(chr(ord("A") + i)).datasource(DS).expr(expr)
                 .legend_format(legend))
        if table_format:
            query.format(PromQueryFormat.TABLE)
        panel.with_target(query.instant() if instant else query.range())
    return panel


def graph(title: str, targets: Sequence[Target], **kwargs: Any) -> timeseries.Panel:
    return with_queries(timeseries.Panel(), title, targets, **kwargs)


def timeline(title: str, targets: Sequence[Target], mappings: dict[str, tuple[str, str]]
             | None = None, **kwargs: Any) -> statetimeline.Panel:
    """`mappings`: value -> (text, colour), in the order shown in the legend."""
    panel = with_queries(statetimeline.Panel(), title, targets, **kwargs)
    return panel.mappings([value_map(mappings)]) if mappings else panel


def table_of(title: str, targets: Sequence[Target], **kwargs: Any) -> table.Panel:
    """The current value of each query as a table (one instant query per column)."""
    return with_queries(table.Panel(), title, [(expr, "") for expr, _ in targets],
                        instant=True, table_format=True, **kwargs)


def stat_of(title: str, targets: Sequence[Target], **kwargs: Any) -> stat.Panel:
    return with_queries(stat.Panel(), title, targets, width=6, height=4, instant=True, **kwargs)


def value_map(mappings: dict[str, tuple[str, str]]) -> model.ValueMap:
    return model.ValueMap(options={
        value: model.ValueMappingResult(text=text, color=colour or None, index=i)
        for i, (value, (text, colour)) in enumerate(mappings.items())})


def setting(name: str, value: object) -> model.DynamicConfigValue:
    """One field setting ("decimals", "custom.lineWidth", ...) for an override."""
    return model.DynamicConfigValue(id_val=name, value=value)


def merged_table(columns: dict[str, str], hidden: tuple[str, ...] = ()
                 ) -> list[model.DataTransformerConfig]:
    """Instant queries of one table panel joined into one row per label set: `columns` maps
    Grafana's field names ("Value #A", a label) to headers, in the order shown."""
    return [model.DataTransformerConfig(id_val="merge", options={}),
            model.DataTransformerConfig(id_val="organize", options={
                "excludeByName": {"Time": True, **{name: True for name in hidden}},
                "indexByName": {name: i for i, name in enumerate(columns)},
                "renameByName": {k: v for k, v in columns.items() if k != v}})]


# --- Dashboards ------------------------------------------------------------------------------

def dashboard(uid: str, title: str, description: str,
              variables: Sequence[dash.QueryVariable | dash.CustomVariable],
              panels: Sequence[AnyPanel], time_from: str = "now-6h") -> model.Dashboard:
    board = (dash.Dashboard(title).uid(uid).description(description).tags(["factorwatch"])
             .timezone("utc").editable().tooltip(model.DashboardCursorSync.CROSSHAIR)
             .refresh("1m").time(time_from, "now").annotations([])
             .link(dash.DashboardLink("factorwatch").type(model.DashboardLinkType.DASHBOARDS)
                   .tags(["factorwatch"]).as_dropdown(True))
             .with_variable(datasource_var()))
    for variable in variables:
        board.with_variable(variable)
    for i, panel in enumerate(panels, start=1):
        board.with_panel(panel.id(i))
    return board.build()


# docs/scoring.md, "States", with their colours; the order gives each its code in state_code().
STATES = {"serving": "green", "degraded": "yellow", "throttled": "orange", "down": "red",
          "unknown": "#8e8e8e"}


def state_code(candidates: str) -> str:
    """factorwatch_candidate_state is one series per state, 1 for the current one: as one
    series per candidate whose value is the state's code (1 serving ... 5 unknown)."""
    codes = " or ".join(f'factorwatch_candidate_state{{candidate=~"{candidates}",state="{name}"}}'
                        f" * {code}" for code, name in enumerate(STATES, start=1))
    return f"max by (candidate) ({codes})"


def state_panel(candidates: str) -> statetimeline.Panel:
    return timeline("Candidate state", [(state_code(candidates), "{{candidate}}")],
                    {str(code): (name, colour)
                     for code, (name, colour) in enumerate(STATES.items(), start=1)},
                    description="serving, degraded, throttled, down or unknown, judged on the "
                    "last few minutes of latency and uptime probes (docs/scoring.md, States). "
                    "A down or throttled candidate ranks after the others and never becomes "
                    "the top choice.")


PROBE_WINDOW = custom_var("window", "Rate window", ["5m", "15m", "1h", "6h"], "15m")
COUNTED = 'kind=~"latency|uptime",result!~"auth|rate_limited"'  # docs/scoring.md#definitions


def providers() -> model.Dashboard:
    sel = 'provider=~"$provider",candidate=~"$candidate"'
    q = ("histogram_quantile({q}, sum by (candidate, le) "
         "(rate(factorwatch_probe_ttft_seconds_bucket{{" + sel + "}}" + W + ")))")
    return dashboard("factorwatch-providers", "factorwatch / Providers",
                     "Availability, latency, output speed and errors as the probes measure "
                     "them; incidents and prices as the providers declare them.",
                     [query_var("provider", "label_values(factorwatch_probe_total, provider)"),
                      query_var("candidate", 'label_values(factorwatch_probe_total{provider=~'
                                '"$provider"}, candidate)'), PROBE_WINDOW], [
        graph("Availability (probes in the rate window)", [(
            f'sum by (candidate) (rate(factorwatch_probe_total{{{sel},{COUNTED},result="ok"}}'
            f"{W})) / sum by (candidate) (rate(factorwatch_probe_total{{{sel},{COUNTED}}}{W}))",
            "{{candidate}}")], unit="percentunit").max(1),
        table_of("Availability by window (from the store)", [(
            f'max by (candidate, window) (factorwatch_availability_window_ratio{{{sel}}})', "")],
            unit="percentunit"),
        state_panel("$candidate"),
        table_of("429 share by window (from the store)", [(
            'max by (candidate, window) (factorwatch_throttled_ratio{candidate=~"$candidate"})',
            "")], unit="percentunit",
            description="Share of the answered latency and uptime probes that were 429s. "
            "Availability leaves 429s out, so rate limiting shows here (and, over the last "
            "few minutes, as the throttled state)."),
        graph("TTFT p50 / p95 / p99",
              [(q.format(q=p), f"{{{{candidate}}}} p{int(p * 100)}") for p in (0.5, 0.95, 0.99)],
              unit="s"),
        graph("Time to first answer token p95 (reasoning models: after their thinking)", [(
            "histogram_quantile(0.95, sum by (candidate, le) (rate("
            f"factorwatch_probe_first_answer_seconds_bucket{{{sel}}}{W})))",
            "{{candidate}} first answer"), (q.format(q=0.95), "{{candidate}} TTFT")],
              unit="s"),
        graph("Reasoning tokens spent by probes", [(
            f"sum by (candidate) (increase(factorwatch_probe_reasoning_tokens_total{{{sel}}}"
            f"{W}))", "{{candidate}}")], unit="none").axis_label("tokens").min(0),
        graph("Voice: first audio vs first speech p50 (voice probes)", [(
            "histogram_quantile(0.5, sum by (candidate, le) (rate("
            f"factorwatch_probe_{m}_seconds_bucket{{{sel}}}{W})))",
            f"{{{{candidate}}}} {m.replace('_', ' ')}")
            for m in ("first_audio", "first_speech", "first_transcript")], unit="s",
            description="From the user's turn leaving: the first audio byte, the first audio "
            "that is not silence, the first transcript text. The gap between the first two "
            "is silence padding."),
        graph("Output speed (latest latency probe)", [(
            f"max by (candidate) (factorwatch_probe_output_tokens_per_second{{{sel}}})",
            "{{candidate}}")], unit="none").axis_label("tokens/s"),
        graph("Failed probes by error class", [(
            f'sum by (candidate, result) (increase(factorwatch_probe_total{{{sel},result!="ok"}}'
            f"{W}))", "{{candidate}} {{result}}")]).legend(
            common_builder.VizLegendOptions().show_legend(True)
            .display_mode(common.LegendDisplayMode.TABLE)
            .placement(common.LegendPlacement.BOTTOM)),
        graph("End-to-end duration p95 by kind", [(
            "histogram_quantile(0.95, sum by (candidate, kind, le) (rate("
            f"factorwatch_probe_duration_seconds_bucket{{{sel}}}{W})))",
            "{{candidate}} {{kind}}")], unit="s"),
        graph("Open incidents (declared)", [(
            'max by (provider) (factorwatch_incidents_open{provider=~"$provider"})',
            "{{provider}}")]).min(0).decimals(0),
        table_of("Current prices (USD per million tokens)", [(
            f"max by (candidate, token) (factorwatch_price_per_million_tokens_usd{{{sel}}})", "")],
            unit="currencyUSD"),
    ])


def sla() -> model.Dashboard:
    sel = 'provider=~"$provider"'
    return dashboard("factorwatch-sla", "factorwatch / SLA reality vs commitment",
                     "What providers commit to against what the probes observe, the error "
                     "budget it leaves, and outages declared vs observed.",
                     [query_var("provider", "label_values(factorwatch_availability_window_ratio,"
                                " provider)"),
                      custom_var("sla_window", "SLA window", ["1h", "24h", "7d", "30d"], "30d")],
                     [
        graph("Observed availability vs committed SLA", [
            (f'max by (candidate) (factorwatch_availability_window_ratio{{{sel},'
             'window="$sla_window"})', "{{candidate}} observed"),
            (f"max by (provider) (factorwatch_sla_committed_ratio{{{sel}}})",
             "{{provider}} committed")], unit="percentunit"),
        with_queries(bargauge.Panel(), "Error budget remaining", [(
            f'max by (candidate) (factorwatch_error_budget_remaining_ratio{{{sel},'
            'window="$sla_window"})', "{{candidate}}")], unit="percentunit", instant=True)
            .min(-1).max(1).thresholds(
                dash.ThresholdsConfig().mode(model.ThresholdsMode.ABSOLUTE).steps([
                    model.Threshold(value=None, color="red"),
                    model.Threshold(value=0, color="orange"),
                    model.Threshold(value=0.25, color="green")])),
        graph("Burn rate, 1h and 24h (1 = spending exactly the budget)", [(
            f'max by (candidate, window) (factorwatch_error_budget_burn_rate{{{sel},'
            'window=~"1h|24h"})', "{{candidate}} {{window}}")], unit="none"),
        graph("Outage minutes, last 24 h: declared vs observed", [(
            f"max by (provider, measure) (factorwatch_outage_seconds{{{sel}}}) / 60",
            "{{provider}} {{measure}}")], unit="m"),
        table_of("Availability by window", [(
            f"max by (candidate, window) (factorwatch_availability_window_ratio{{{sel}}})", "")],
            unit="percentunit"),
        table_of("Probes behind each figure", [(
            f"max by (candidate, window) (factorwatch_availability_window_probes{{{sel}}})", "")]),
        graph("Open incidents (declared)", [(
            f"max by (provider) (factorwatch_incidents_open{{{sel}}})", "{{provider}}")])
            .min(0).decimals(0),
    ], time_from="now-7d")


def ranking() -> model.Dashboard:
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
        graph("Composite score per candidate (1-5)", [(
            f"max by (candidate) (factorwatch_composite_score{{{cand}}})", "{{candidate}}")])
            .min(1).max(5),
        timeline("Top choice", [(
            f"max by (candidate) (factorwatch_top_choice{{{sel}}})", "{{candidate}}")],
            {"0": ("-", "transparent"), "1": ("top choice", "green")}),
        composite_band(cand),
        state_panel("$candidate"),
        timeline("Gated out", [(
            f"max by (candidate) (factorwatch_gated{{{cand}}})", "{{candidate}}")],
            {"0": ("eligible", "green"), "1": ("gated", "red")}),
        table_of("Factor breakdown (latest)", [
            (f"max by (candidate, factor) (factorwatch_factor_score{{{cand}}})", ""),
            (f"max by (candidate, factor) (factorwatch_factor_score_low{{{cand}}})", ""),
            (f"max by (candidate, factor) (factorwatch_factor_score_high{{{cand}}})", "")],
            description="Each factor's score with its interval; a factor without evidence "
            "has no row (it counts as the workload's missing policy says).")
            .decimals(2).transformations(merged_table({
                "candidate": "candidate", "factor": "factor", "Value #A": "score",
                "Value #B": "low", "Value #C": "high"})),
        graph("Rank (1 = first; gated candidates have none)", [(
            f"max by (candidate) (factorwatch_rank{{{cand}}})", "{{candidate}}")])
            .min(1).decimals(0).transform(common.GraphTransform.NEGATIVE_Y),
        graph("Routing order (1 = tried first; none: may not serve)", [(
            f"max by (candidate) (factorwatch_routing_position{{{cand}}})", "{{candidate}}")],
            description="1 for the candidate a gateway tries first (docs/routing.md); a "
            "candidate that may not serve has none.").min(1).decimals(0)
            .transform(common.GraphTransform.NEGATIVE_Y),
        graph("Monthly cost at the workload's volume", [(
            f"max by (candidate) (factorwatch_monthly_cost_usd{{{cand}}})", "{{candidate}}")],
            unit="currencyUSD"),
        graph("Top-choice changes announced (per hour)", [(
            f"sum by (workload) (increase(factorwatch_top_choice_changes_total{{{sel}}}[1h]))",
            "{{workload}}")]).min(0),
    ], time_from="now-7d")


def current_ranking(sel: str, cand: str) -> table.Panel:
    """One row per candidate: rank, state, composite and its interval, tie, top choice."""
    per_candidate = [f"max by (candidate) ({metric}{{{cand}}})" for metric in (
        "factorwatch_rank", "factorwatch_composite_score", "factorwatch_composite_score_low",
        "factorwatch_composite_score_high", "factorwatch_rank_tied", "factorwatch_top_choice")]
    state = ('(max by (candidate, state) (factorwatch_candidate_state{candidate=~"$candidate"})'
             f" == 1) and on (candidate) factorwatch_gated{{{sel}}}")  # has no workload label
    panel = table_of(
        "Current ranking", [(q, "") for q in [*per_candidate, state]], width=24,
        description="The latest scoring pass. low and high: the composite's interval; "
        "tied: the candidate ranked just above is not confidently ahead of this one "
        "(alerts.flip.confidence); a down or throttled candidate ranks after the "
        "others and never becomes the top choice.")
    panel.transformations(merged_table(
        {"Value #A": "rank", "candidate": "candidate", "state": "state",
         "Value #B": "composite", "Value #C": "low", "Value #D": "high",
         "Value #E": "tied", "Value #F": "top choice"}, hidden=("Value #G",)))
    panel.sort_by([common_builder.TableSortByFieldState().display_name("rank").desc(False)])
    for column in ("composite", "low", "high"):
        panel.override_by_name(column, [setting("decimals", 2)])
    panel.override_by_name("rank", [setting("decimals", 0)])
    for column, text, colour in (("tied", "tied", "yellow"),
                                 ("top choice", "top choice", "green")):
        panel.override_by_name(column, [
            setting("mappings", [value_map({"0": ("-", ""), "1": (text, colour)})]),
            setting("custom.cellOptions", common.TableColorTextCellOptions())])
    return panel.override_by_name("state", [
        setting("mappings", [value_map({name: (name, colour) for name, colour in STATES.items()})]),
        setting("custom.cellOptions", common.TableColoredBackgroundCellOptions())])


def composite_band(cand: str) -> timeseries.Panel:
    """The composite with its interval as a shaded band, one panel per candidate: Grafana fills
    between two series named in advance, so the candidate is the repeated panel's."""
    return (graph("Composite and its interval: $candidate", [
        (f"max by (candidate) (factorwatch_composite_score_high{{{cand}}})", "high"),
        (f"max by (candidate) (factorwatch_composite_score{{{cand}}})", "composite"),
        (f"max by (candidate) (factorwatch_composite_score_low{{{cand}}})", "low")],
        width=24, height=7,
        description="The band is the composite's interval at scoring.confidence "
        "(docs/scoring.md, How sure is a score). Which candidates are tied: the Current "
        "ranking table.")
        .repeat("candidate").repeat_direction("h").max_per_row(3)
        .min(1).max(5).decimals(2)
        .color_scheme(dash.FieldColor().mode(model.FieldColorModeId.FIXED).fixed_color("blue"))
        .override_by_name("high", [setting("custom.fillBelowTo", "low"),
                                   setting("custom.fillOpacity", 25),
                                   setting("custom.lineWidth", 0)])
        .override_by_name("low", [setting("custom.lineWidth", 0)]))


def itself() -> model.Dashboard:
    return dashboard("factorwatch-self", "factorwatch / factorwatch itself",
                     "Is the monitor healthy: up, probing on time, a responsive event loop, "
                     "probe spend, alert delivery, sources and the store.",
                     [custom_var("job", "Prometheus job", ["factorwatch"], "factorwatch")], [
        stat_of("Up", [('up{job="$job"}', "{{instance}}")]),
        stat_of("Leader / replicas", [("max(factorwatch_leader)", "leader"),
                                      ("max(factorwatch_cluster_replicas)", "replicas")]),
        stat_of("Store reachable", [("min(factorwatch_store_up)", "store up")]),
        stat_of("Results waiting to be written", [(
            "max(factorwatch_store_buffered_results)", "buffered")]),
        graph("Probe lag: time since last probe / configured interval", [(
            "max by (candidate, kind) ((time() - factorwatch_last_probe_timestamp_seconds) / "
            "factorwatch_probe_interval_seconds)", "{{candidate}} {{kind}}")],
            description="Above 1 a probe is late; above 3 something is wrong (or its probe "
            "budget is spent)."),
        graph("Event-loop lag p50 / p99", [(
            f"histogram_quantile({q}, sum by (instance, le) "
            "(rate(factorwatch_event_loop_lag_seconds_bucket[$__rate_interval])))",
            f"{{{{instance}}}} p{int(q * 100)}") for q in (0.5, 0.99)], unit="s"),
        graph("Probe spend per hour (USD)", [(
            "sum by (candidate) (increase(factorwatch_probe_spend_usd_total[1h]))",
            "{{candidate}}")], unit="currencyUSD"),
        timeline("Probe budget exhausted", [(
            "max by (candidate) (factorwatch_probe_budget_exhausted)", "{{candidate}}")]),
        graph("Alerts sent by sink and result (per hour)", [(
            "sum by (sink, result) (increase(factorwatch_alerts_sent_total[1h]))",
            "{{sink}} {{result}}")]),
        graph("Alerts pending delivery", [(
            "max by (sink) (factorwatch_alerts_pending)", "{{sink}}")]),
        graph("Scoring passes (per hour) and age of the last one", [
            ("sum by (result) (increase(factorwatch_scoring_runs_total[1h]))", "{{result}}"),
            ("time() - max by (workload) (factorwatch_last_evaluation_timestamp_seconds)",
             "{{workload}} age (s)")]),
        graph("Status pages and price lists: seconds since last read", [(
            "time() - max by (kind, source) "
            "(factorwatch_source_last_success_timestamp_seconds)", "{{kind}} {{source}}")],
            unit="s"),
        table_of("Build", [("max by (version) (factorwatch_build_info)", "")], width=24,
                 height=4),
    ], time_from="now-6h")


DASHBOARDS = {"providers.json": providers, "sla.json": sla, "ranking.json": ranking,
              "factorwatch.json": itself}


def build() -> dict[str, str]:
    encoder = JSONEncoder(indent=2)
    return {name: encoder.encode(make()) + "\n" for name, make in DASHBOARDS.items()}


if __name__ == "__main__":
    for name, text in build().items():
        (HERE / name).write_text(text, encoding="utf-8")
        print(f"wrote dashboards/{name}")
