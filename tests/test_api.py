"""The JSON API on a known store: pagination, the SLA table, candidates, the bearer token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

import service.api.sla as sla_api
from tests.apidata import Seeded, app_for, seed


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return seed(tmp_path_factory.mktemp("api"))


@pytest.fixture(scope="module")
def client(seeded: Seeded) -> Iterator[TestClient]:
    with TestClient(app_for(seeded)) as c:
        yield c


def all_pages(client: TestClient, url: str, limit: int) -> list[list[dict[str, object]]]:
    pages, cursor = [], None
    while True:
        params: dict[str, object] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        body = client.get(url, params=params).json()
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


def test_events_page_newest_first_without_repeats_or_gaps(client: TestClient) -> None:
    pages = all_pages(client, "/api/v1/events", limit=2)
    assert [len(p) for p in pages] == [2, 2, 1]
    keys = [(e["created_at"], e["id"]) for p in pages for e in p]
    assert keys == sorted(keys, reverse=True) and len(set(keys)) == 5


# Every list endpoint: the lists that grow page with limit/cursor, newest first; the lists
# the config fixes come whole (sorted by name), in the same shape with no next page.
PAGED = {"/api/v1/events", "/api/v1/incidents", "/api/v1/prices/history",
         "/api/v1/workloads/{workload}/history", "/api/v1/alerts/silences",
         "/api/v1/sla/statements"}
WHOLE = {"/api/v1/workloads", "/api/v1/candidates", "/api/v1/prices", "/api/v1/honesty",
         "/api/v1/providers/{provider}/models"}  # what the provider lists: one answer


@pytest.mark.parametrize(("url", "key", "expected"), [
    ("/api/v1/workloads", None, ["chat", "clinic"]),
    ("/api/v1/candidates", "id", ["acme/big", "acme/fast", "zeta/cheap"]),
    ("/api/v1/prices", "candidate", ["acme/fast"]),  # the one with a recorded price
])
def test_lists_the_config_fixes_come_whole_in_the_one_list_shape(
        client: TestClient, url: str, key: str | None, expected: list[str]) -> None:
    body = client.get(url).json()
    assert set(body) == {"items", "next_cursor"} and body["next_cursor"] is None
    assert [i[key] if key else i for i in body["items"]] == expected


def test_openapi_gives_every_list_the_page_shape_and_no_bare_arrays(
        client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    pages, params = set(), {}
    for path, ops in spec["paths"].items():
        if "get" not in ops:
            continue
        answer = ops["get"]["responses"]["200"].get("content", {})
        schema = answer.get("application/json", {}).get("schema", {})
        assert schema.get("type") != "array", f"{path} answers a bare array"
        if schema.get("$ref", "").startswith("#/components/schemas/Page_"):
            pages.add(path)
            params[path] = {p["name"] for p in ops["get"].get("parameters", [])}
    assert pages == PAGED | WHOLE
    assert all({"limit", "cursor"} <= params[p] for p in PAGED)
    assert not any({"limit", "cursor"} & params[p] for p in WHOLE)


def test_event_type_filter(client: TestClient) -> None:
    items = client.get("/api/v1/events", params={"type": "price_change"}).json()["items"]
    assert {e["type"] for e in items} == {"price_change"} and len(items) == 2


@pytest.mark.parametrize("cursor", ["garbage!", "bm90LWEtY3Vyc29y", "MjAyNi0wMS0wMXwx"])
def test_a_cursor_not_from_this_api_is_a_400(client: TestClient, cursor: str) -> None:
    r = client.get("/api/v1/events", params={"cursor": cursor})
    assert r.status_code == 400 and "cursor" in r.json()["detail"]


def test_ranking_history_pages_through_every_evaluation(client: TestClient) -> None:
    pages = all_pages(client, "/api/v1/workloads/chat/history", limit=2)
    items = [i for p in pages for i in p]
    assert len(items) == 3
    assert items[0]["evaluated_at"] > items[-1]["evaluated_at"]
    whole = client.get(f"/api/v1/evaluations/{items[0]['evaluation_id']}").json()
    assert whole["workload"] == "chat" and len(whole["ranking"]) == 3


def test_sla_table_has_committed_vs_observed_and_the_budget(client: TestClient) -> None:
    body = client.get("/api/v1/sla").json()
    rows = {r["candidate"]: r for r in body["candidates"]}
    fast = rows["acme/fast"]["windows"]["1h"]
    assert rows["acme/fast"]["committed"] == 0.99
    assert fast["availability"] == pytest.approx(0.9)
    assert fast["burn_rate"] == pytest.approx(10.0)
    assert fast["error_budget_remaining"] == pytest.approx(-9.0)
    cheap = rows["zeta/cheap"]["windows"]["24h"]
    assert (cheap["ok"], cheap["throttled"], cheap["availability"]) == (10, 2, 1.0)
    assert cheap["burn_rate"] is None  # zeta commits to no SLA
    assert {o["provider"] for o in body["outages"]} == {"acme", "zeta"}


def test_candidate_detail_takes_ids_with_a_slash(client: TestClient) -> None:
    body = client.get("/api/v1/candidates/acme/fast").json()
    assert body["provider"] == "acme" and body["open_incidents"] == 1
    assert body["price"]["input_per_mtok"] == 0.5
    assert {r["workload"] for r in body["rankings"]} == {"chat", "clinic"}
    assert client.get("/api/v1/candidates/acme/nope").status_code == 404


@pytest.mark.parametrize("fresh", [False, True])
def test_explain_gives_every_factor_with_evidence(client: TestClient, fresh: bool) -> None:
    body = client.get("/api/v1/candidates/zeta/cheap/explain",
                      params={"workload": "clinic", "fresh": fresh}).json()
    assert body["gated"] is True and "hipaa_baa" in body["gate_reasons"][0]
    assert body["factors"]["latency"]["evidence"]["ttft_p99_seconds"] == pytest.approx(0.2,
                                                                                     rel=0.05)


def test_incidents_filter_open_and_prices_history(client: TestClient) -> None:
    open_ = client.get("/api/v1/incidents", params={"state": "open"}).json()["items"]
    assert [i["external_id"] for i in open_] == ["inc-1"]
    history = client.get("/api/v1/prices/history",
                         params={"candidate": "acme/fast"}).json()["items"]
    assert [p["input_per_mtok"] for p in history] == [0.5, 0.8]


def test_state_changes_are_refused_without_a_configured_token(client: TestClient) -> None:
    assert client.post("/api/v1/rescore").status_code == 403


def test_rescore_needs_the_right_bearer_token(seeded: Seeded, tmp_path: Path) -> None:
    calls = []

    async def rescore() -> bool:
        calls.append(1)
        return True

    with TestClient(app_for(seeded, token="s3cret", rescore=rescore)) as c:
        assert c.post("/api/v1/rescore").status_code == 401
        wrong = c.post("/api/v1/rescore", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
        ok = c.post("/api/v1/rescore", headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200 and calls == [1]
    assert set(ok.json()["workloads"]) == {"chat", "clinic"}


def test_rescore_on_a_replica_without_the_lease_is_a_conflict(seeded: Seeded) -> None:
    async def not_leader() -> bool:
        return False

    with TestClient(app_for(seeded, token="t", rescore=not_leader)) as c:
        r = c.post("/api/v1/rescore", headers={"Authorization": "Bearer t"})
    assert r.status_code == 409 and "factorwatch_leader" in r.json()["detail"]


def test_openapi_documents_every_resource_and_the_token(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path in ("/api/v1/workloads/{workload}/history", "/api/v1/candidates/{candidate}",
                 "/api/v1/sla", "/api/v1/incidents", "/api/v1/prices/history",
                 "/api/v1/events", "/api/v1/rescore"):
        assert path in spec["paths"], path
    assert spec["paths"]["/api/v1/rescore"]["post"]["security"] == [{"HTTPBearer": []}]
    assert "/api/v1/events" in spec["paths"] and "HTTPBearer" in spec["components"][
        "securitySchemes"]


def test_the_docs_page_loads_every_asset_from_this_port(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert {a.rsplit(".", 1)[-1] for a in assets} == {"js", "css", "png"}
    for url in assets:
        assert url.startswith("/docs/assets/"), url
        assert client.get(url).status_code == 200, url
    assert client.get("/redoc").status_code == 404  # ReDoc loads its logo from a CDN


def test_outage_figures_are_read_at_most_once_a_minute(
        seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = sla_api.outage_summaries
    monkeypatch.setattr(sla_api, "outage_summaries",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    ctx = app_for(seeded).state.ctx
    with Session(seeded.engine) as db:
        first = sla_api.cached_outages(ctx, db, 24, seeded.now)
        sla_api.cached_outages(ctx, db, 24, seeded.now + timedelta(seconds=59))
        assert len(calls) == 1
        sla_api.cached_outages(ctx, db, 24, seeded.now + timedelta(seconds=61))
        sla_api.cached_outages(ctx, db, 1, seeded.now + timedelta(seconds=61))
    assert len(calls) == 3 and set(first) == {"acme", "zeta"}
