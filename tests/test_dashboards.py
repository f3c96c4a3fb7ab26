"""Dashboards and alert rules, statically: generated from dashboards/generate.py (Grafana's
own builders, grafana-foundation-sdk), wired to a templated data source, querying only metrics
factorwatch exposes, in the unit of what they measure, states and intervals shown as such;
rules valid and unit-tested with promtool; the example Prometheus and Alertmanager configs
valid. tests/test_prometheus.py runs every query against a real Prometheus."""

from __future__ import annotations

import re
import runpy
import subprocess
from pathlib import Path
from typing import Any

import pytest

from service.scoring.states import STATES
from tests.needs import binary
from tests.promql import (
    DASHBOARDS,
    RULES,
    dashboards,
    metric_names,
    panel_queries,
    rule_queries,
    top_level_comparisons,
    variable_queries,
    with_bool,
)
from tests.test_metrics_doc import exposed_names, full_registry

# What service/metrics.py exposes (tests/test_metrics_doc.py holds docs/metrics.md to it).
EXPOSED = exposed_names(full_registry())
TITLES = {"factorwatch / Providers", "factorwatch / SLA reality vs commitment",
          "factorwatch / Workload ranking", "factorwatch / factorwatch itself"}


def run(*cmd: str, cwd: Path = DASHBOARDS) -> None:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_dashboard_files_are_what_the_generator_makes() -> None:
    built = runpy.run_path(str(DASHBOARDS / "generate.py"))["build"]()
    on_disk = {p.name: p.read_text() for p in DASHBOARDS.glob("*.json")}
    assert on_disk == built, "run `python dashboards/generate.py` and commit the result"


def test_the_four_dashboards_use_a_templated_prometheus_data_source() -> None:
    boards = dashboards()
    assert {b["title"] for b in boards.values()} == TITLES
    assert len({b["uid"] for b in boards.values()}) == len(boards)
    for name, board in boards.items():
        variables = {v["name"]: v for v in board["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == "prometheus"
        for variable in variables.values():
            if variable["type"] == "query":  # its values come from the chosen data source too
                assert variable["datasource"]["uid"] == "${datasource}", (name, variable)
        for panel in board["panels"]:
            assert panel["datasource"]["uid"] == "${datasource}", (name, panel["title"])
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == "${datasource}", (name, panel["title"])
            assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        assert len({p["id"] for p in board["panels"]}) == len(board["panels"])


@pytest.mark.parametrize("name,variables", [
    ("providers.json", {"provider", "candidate", "window"}),
    ("sla.json", {"provider", "sla_window"}), ("ranking.json", {"workload", "candidate"})])
def test_workload_and_provider_variables(name: str, variables: set[str]) -> None:
    board = dashboards()[name]
    assert variables <= {v["name"] for v in board["templating"]["list"]}
    exprs = " ".join(t["expr"] for p in board["panels"] for t in p["targets"])
    for variable in variables:
        assert f"${variable}" in exprs


@pytest.mark.parametrize("name,metrics", [
    ("ranking.json", {"factorwatch_composite_score_low", "factorwatch_composite_score_high",
                      "factorwatch_factor_score_low", "factorwatch_factor_score_high",
                      "factorwatch_rank_tied", "factorwatch_candidate_state"}),
    ("providers.json", {"factorwatch_candidate_state", "factorwatch_throttled_ratio"})])
def test_rankings_show_how_sure_they_are_and_candidates_their_state(
        name: str, metrics: set[str]) -> None:
    panels = dashboards()[name]["panels"]
    queried = {m for p in panels for t in p["targets"] for m in metric_names(t["expr"])}
    assert metrics <= queried, sorted(metrics - queried)


def value_mappings(panel: dict[str, Any]) -> list[dict[str, Any]]:
    config = panel["fieldConfig"]
    found = list(config["defaults"].get("mappings", []))
    for override in config["overrides"]:
        found += [m for p in override["properties"] if p["id"] == "mappings" for m in p["value"]]
    return found


def test_every_state_is_named_and_coloured_where_states_are_shown() -> None:
    panels = [p for board in dashboards().values() for p in board["panels"]
              if any("factorwatch_candidate_state" in t["expr"] for t in p["targets"])]
    assert len(panels) >= 3  # providers' timeline, ranking's timeline and table
    for panel in panels:
        options = {k: o for m in value_mappings(panel) for k, o in m["options"].items()}
        assert set(STATES) <= {o["text"] for o in options.values()}, panel["title"]
        assert all(o.get("color") for o in options.values() if o["text"] in STATES)
        for target in panel["targets"]:  # a timeline codes each state as a number
            for state, code in re.findall(r'state="(\w+)"\} \* (\d+)', target["expr"]):
                assert options[code]["text"] == state, (panel["title"], state, code)


def test_a_band_fills_between_two_series_of_its_panel() -> None:
    bands = 0
    for board in dashboards().values():
        for panel in board["panels"]:
            legends = {t.get("legendFormat") for t in panel["targets"]}
            for override in panel["fieldConfig"]["overrides"]:
                for prop in override["properties"]:
                    if prop["id"] == "custom.fillBelowTo":
                        bands += 1
                        assert {override["matcher"]["options"], prop["value"]} <= legends
    assert bands, "the composite's interval is drawn as a band"


def measured_unit(expr: str) -> str | None:
    """The unit a query's result is in, where its metrics' names say it (docs/metrics.md):
    quantiles of seconds, US dollars, ratios shown as they are."""
    names = metric_names(expr)
    if not names:
        return None
    if "histogram_quantile" in expr and all(n.endswith("_seconds") for n in names):
        return "s"
    if all(n.endswith(("_usd", "_usd_total")) for n in names):
        return "currencyUSD"
    if all(n.endswith("_ratio") for n in names) and not re.search(r"[*/]", expr):
        return "percentunit"
    return None


def test_each_panel_shows_its_queries_in_their_unit() -> None:
    checked = 0
    for name, board in dashboards().items():
        for panel in board["panels"]:
            units = {measured_unit(t["expr"]) for t in panel["targets"]} - {None}
            if units:
                checked += 1
                assert units == {panel["fieldConfig"]["defaults"].get("unit")}, (
                    name, panel["title"], units)
    assert checked >= 10  # latencies, availabilities, prices, costs, spend, error budget


def test_every_queried_metric_exists() -> None:
    for query in [*panel_queries(), *variable_queries(), *rule_queries()]:
        unknown = metric_names(query.expr) - EXPOSED
        assert not unknown, f"{query.where} queries unknown metrics {sorted(unknown)}"


def test_each_rule_is_one_condition_so_its_signal_can_be_shown() -> None:
    for query in rule_queries():
        assert len(top_level_comparisons(query.expr)) == 1, query.where
    assert with_bool('up{job="x"} == 0') == 'up{job="x"} == bool 0'
    assert with_bool("sum by (a) (rate(x[5m])) / sum(y{l=~\"a|b\"}) > 0.5").endswith(
        "> bool 0.5")


@pytest.mark.integration  # runs promtool
def test_rules_are_valid_and_their_unit_tests_pass() -> None:
    promtool = binary("promtool", "prometheus")
    run(promtool, "check", "rules", str(RULES))
    run(promtool, "test", "rules", "factorwatch_test.yml", cwd=RULES.parent)


@pytest.mark.integration  # runs promtool
def test_example_prometheus_and_alertmanager_configs_are_valid() -> None:
    run(binary("promtool", "prometheus"), "check", "config", "prometheus.example.yml")
    run(binary("amtool", "prometheus-alertmanager"), "check-config",
        "alertmanager.example.yml")
