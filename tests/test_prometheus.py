"""A real Prometheus scraping a real `factorwatch demo` every second, with the alert rules
loaded: every dashboard query, variable query and rule evaluates without error and returns
data; /metrics passes `promtool check metrics`.

Rules return data only when they fire, so each is also evaluated as its signal
(`x > bool t`, see tests/promql.py). The demo produces every metric they read, status
sources, outage figures and alert deliveries included (service/sim/demo.py): none is excused.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from devtools.demo import DemoProcess
from devtools.prometheus import PrometheusServer
from tests.needs import binary
from tests.promql import (
    RULES,
    Query,
    dashboards,
    panel_queries,
    rule_queries,
    rules,
    variable_queries,
    with_bool,
)

pytestmark = pytest.mark.integration

DEADLINE_SECONDS = 40
KNOWN_LINT: set[str] = set()  # promtool findings accepted as they are: none


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[DemoProcess, PrometheusServer]]:
    prometheus_bin = binary("prometheus", "prometheus")
    demo = DemoProcess().start()
    prometheus = PrometheusServer(prometheus_bin, {"factorwatch": urlsplit(demo.url).netloc},
                                  rule_files=[RULES])
    try:
        prometheus.start()
        demo.wait_scored()
        yield demo, prometheus
    finally:
        prometheus.stop()
        demo.stop()


def values(prometheus: PrometheusServer) -> dict[str, str]:
    """What Grafana would put in for each variable: All (.*) for multi-value variables, the
    first value for single ones, a custom variable's default."""
    out = {"__rate_interval": "1m", "window": "1m"}
    for board in dashboards().values():
        for var in board["templating"]["list"]:
            if var["type"] == "custom":
                out.setdefault(var["name"], var["current"]["value"])
            elif var["type"] == "query" and var["name"] not in out:
                found = [".*"] if var["multi"] else label_values(prometheus,
                                                                 var["query"]["query"])
                out[var["name"]] = found[0] if found else "(not scraped yet)"
    return out


def label_values(prometheus: PrometheusServer, query: str) -> list[str]:
    inner = query.removeprefix("label_values(").removesuffix(")")
    selector, _, label = inner.rpartition(",")
    return list(prometheus.api(f"label/{label.strip()}/values", **{"match[]": selector}))


def substitute(expr: str, vars_: dict[str, str]) -> str:
    for name in sorted(vars_, key=len, reverse=True):  # $candidate before $c...
        expr = expr.replace(f"${name}", vars_[name])
    return expr


def missing_data(prometheus: PrometheusServer, queries: list[Query]) -> list[str]:
    """Queries that fail (raise) or return nothing."""
    vars_ = values(prometheus)
    empty = []
    for q in queries:
        result = prometheus.query(substitute(q.expr, vars_))  # a PromQL error raises
        if not result:
            empty.append(f"{q.where}: {q.expr}")
    return empty


def test_every_dashboard_and_rule_query_returns_data(
        stack: tuple[DemoProcess, PrometheusServer]) -> None:
    _, prometheus = stack
    queries = [*panel_queries(), *[Query(q.where, with_bool(q.expr)) for q in rule_queries()]]
    deadline = time.monotonic() + DEADLINE_SECONDS
    while (empty := missing_data(prometheus, queries)) and time.monotonic() < deadline:
        time.sleep(1)  # the first scrapes, and two samples for every rate()
    assert not empty, "no data:\n" + "\n".join(empty)
    vars_ = values(prometheus)
    for variable in variable_queries():
        assert label_values(prometheus, substitute(variable.expr, vars_)), variable.where


def test_prometheus_evaluates_every_rule_without_error(
        stack: tuple[DemoProcess, PrometheusServer]) -> None:
    _, prometheus = stack
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        loaded = {r["name"]: r for g in prometheus.api("rules")["groups"] for r in g["rules"]}
        evaluated = all(not r["lastEvaluation"].startswith("0001") for r in loaded.values())
        if evaluated or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert set(loaded) == {r["alert"] for r in rules()}
    for name, rule in loaded.items():
        assert rule["health"] == "ok", f"{name}: {rule.get('lastError')}"
        assert not rule["lastEvaluation"].startswith("0001"), f"{name} never evaluated"


def test_the_demos_metrics_pass_promtool(stack: tuple[DemoProcess, PrometheusServer]) -> None:
    demo, _ = stack
    body = httpx.get(f"{demo.url}/metrics", timeout=10).content
    done = subprocess.run([binary("promtool", "prometheus"), "check", "metrics"], input=body,
                          capture_output=True, timeout=30)
    output = (done.stdout + done.stderr).decode()
    problems = [line for line in output.splitlines() if line and line not in KNOWN_LINT]
    assert done.returncode == 0 or (output.strip() and not problems), output
