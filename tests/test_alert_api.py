"""Silences through the API: the bearer token guards changes, names are checked, and a
silence added here silences the sender's deliveries on the same store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from devtools.receiver import Receiver, always
from tests.alert_helpers import add_event, deliveries, pump, sender
from tests.apidata import Seeded, app_for, seed

AUTH = {"Authorization": "Bearer s3cret"}
URL = "/api/v1/alerts/silences"


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    """For the tests that add no silence."""
    return seed(tmp_path_factory.mktemp("alert-api"))


@pytest.fixture
def seeded(tmp_path: Path) -> Seeded:
    return seed(tmp_path)


def hours(n: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=n)).isoformat()


def test_changing_silences_needs_the_token(shared: Seeded) -> None:
    seeded = shared
    body = {"providers": ["acme"], "ends_at": hours(1)}
    with TestClient(app_for(seeded)) as c:
        assert c.post(URL, json=body, headers=AUTH).status_code == 403  # none configured
    with TestClient(app_for(seeded, token="s3cret")) as c:
        assert c.post(URL, json=body).status_code == 401
        assert c.post(URL, json=body, headers={"Authorization": "Bearer no"}).status_code == 401
        assert c.delete(f"{URL}/1").status_code == 401
        assert c.get(URL).json() == {"items": [], "next_cursor": None}  # no token needed


@pytest.mark.parametrize(("body", "status", "detail"), [
    ({"providers": ["nope"], "ends_at": hours(1)}, 422, "providers: unknown 'nope'"),
    ({"types": ["sla_brech"], "ends_at": hours(1)}, 422, "types: unknown 'sla_brech'"),
    ({"providers": ["acme"], "ends_at": hours(-1)}, 422,
     "ends_at must be in the future and after starts_at"),
    ({"providers": ["acme"], "starts_at": hours(2), "ends_at": hours(1)}, 422,
     "ends_at must be in the future and after starts_at"),
])
def test_bad_silences_are_refused_with_the_reason(shared: Seeded, body: dict[str, object],
                                                   status: int, detail: str) -> None:
    with TestClient(app_for(shared, token="s3cret")) as c:
        answer = c.post(URL, json=body, headers=AUTH)
    assert (answer.status_code, answer.json()["detail"]) == (status, detail)


def test_a_silence_of_everything_is_refused(shared: Seeded) -> None:
    with TestClient(app_for(shared, token="s3cret")) as c:
        assert c.post(URL, json={"ends_at": hours(1)}, headers=AUTH).status_code == 422


def test_silences_page_newest_first_and_all_includes_the_ended(seeded: Seeded) -> None:
    def ids(c: TestClient, **params: object) -> list[list[int]]:
        pages, cursor = [], None
        while True:
            body = c.get(URL, params={**params, **({"cursor": cursor} if cursor else {})})
            pages.append([s["id"] for s in body.json()["items"]])
            cursor = body.json()["next_cursor"]
            if cursor is None:
                return pages

    with TestClient(app_for(seeded, token="s3cret")) as c:
        made = [c.post(URL, json={"providers": ["acme"], "ends_at": hours(1)},
                       headers=AUTH).json()["id"] for _ in range(5)]
        assert c.delete(f"{URL}/{made[3]}", headers=AUTH).status_code == 200
        newest_first = made[::-1]
        assert ids(c, limit=2, all="true") == [newest_first[:2], newest_first[2:4],
                                              newest_first[4:]]
        not_ended = [i for i in newest_first if i != made[3]]
        assert ids(c, limit=2) == [not_ended[:2], not_ended[2:]]


@pytest.mark.integration
async def test_an_api_silence_silences_the_senders_deliveries_until_it_is_ended(
        seeded: Seeded) -> None:
    with TestClient(app_for(seeded, token="s3cret")) as c:
        made = c.post(URL, json={"providers": ["acme"], "ends_at": hours(1),
                                 "comment": "migration"}, headers=AUTH)
        assert made.status_code == 201
        silence = made.json()
        assert silence["active"] and silence["providers"] == ["acme"]
        assert [s["id"] for s in c.get(URL).json()["items"]] == [silence["id"]]
    engine = seeded.engine
    add_event(engine, "incident_opened", "quiet", provider="acme", external_id="x")
    sink = {"type": "webhook", "webhook_url_env": "U", "secret_env": "S", "group_wait": 0,
            "events": ["incident_opened"]}
    with Receiver(always(200)) as rx:
        s = sender(engine, [sink], {"U": rx.url, "S": "k"})
        await pump(s, lambda: len(deliveries(engine)) == 1)
        with TestClient(app_for(seeded, token="s3cret")) as c:
            ended = c.delete(f"{URL}/{silence['id']}", headers=AUTH).json()
            assert not ended["active"]
            assert c.get(URL).json()["items"] == []
            assert len(c.get(URL, params={"all": "true"}).json()["items"]) == 1
        add_event(engine, "incident_opened", "loud", provider="acme", external_id="y")
        await pump(s, lambda: len(rx.requests) == 1)
    first = deliveries(engine)[0]
    assert (first.status, first.last_error) == (
        "silenced", f"silence {silence['id']}: migration")
    assert [e["id"] for e in rx.requests[0].json()["events"]] == ["loud"]
