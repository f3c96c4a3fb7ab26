"""The overview page at `/`, server-rendered from the known store."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.apidata import Seeded, app_for, seed


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    seeded: Seeded = seed(tmp_path_factory.mktemp("page"))
    with TestClient(app_for(seeded)) as client:
        r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    return r.text


def test_each_workload_shows_its_top_choice(page: str) -> None:
    tops = dict(re.findall(r'data-top-choice="([^"]+)">([^<]+)<', page))
    assert set(tops) == {"chat", "clinic"}
    assert tops["chat"] == "zeta/cheap"  # cheapest, as fast, throttling does not count
    assert tops["clinic"] in ("acme/big", "acme/fast")  # zeta has no BAA: gated out


def test_gates_and_reasons_are_shown(page: str) -> None:
    assert "gated: requires hipaa_baa" in page
    # the two factors that weigh most, with their one-line reasons
    assert "latency 5.0: TTFT p99 0.200s (10 probes, no budget set)<br>cost 4.9:" in page


def test_sla_incidents_and_changes_sections(page: str) -> None:
    assert "90.000%" in page  # acme/fast over every window
    assert "Elevated errors" in page and "Old one" not in page  # open incidents only
    assert "$0.8 &rarr; $0.5" in page  # acme/fast's price cut
    assert "acme/big &rarr; <strong>acme/fast</strong>" in page


def test_config_text_is_escaped(page: str) -> None:
    assert "<b>escaped</b>" not in page and "&lt;b&gt;escaped&lt;/b&gt;" in page


def test_readable_on_a_phone(page: str) -> None:
    assert 'name="viewport" content="width=device-width' in page
    assert "@media (max-width: 40rem)" in page and "overflow-x: auto" in page


def test_honesty_section_waits_for_the_hourly_job(page: str) -> None:
    section = page.split('<section id="honesty">', 1)[1].split("</section>", 1)[0]
    assert "nothing yet" in section  # the seeded store has no judged figures
