"""Several price lists at once: which one prices a candidate (the documented precedence), and
the genai-prices list's dated history seeded as past points, against a real local server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from probes.pricing import Price, PriceList
from service.config import Settings, load_settings
from service.prices.points import price_history
from service.store.models import Event, PricePoint
from service.watch import Watch
from service.watch.pricing import resolve
from tests.clock import T0 as NOW
from tests.source_server import Route, SourceServer

CANDIDATE = """
  {cid}:
    provider: openai
    api: openai
    base_url: https://api.openai.com/v1
    model: {model}
    price: {price}
"""
CANDIDATES = {
    "openai/o3": ("o3", "{source: genai-prices, key: openai/o3}"),
    "openai/gpt-4o": ("gpt-4o", "{source: litellm, fallback: {genai-prices: openai/gpt-4o}}"),
    # LiteLLM has no gpt-gone; openrouter is not polled; genai-prices has gpt-4.1.
    "openai/gone": ("gpt-gone", "{source: litellm, fallback: {openrouter: openai/gpt-4.1, "
                                "genai-prices: openai/gpt-4.1}}"),
}


def config(base: str, negotiated: Path) -> str:
    cands = "".join(CANDIDATE.format(cid=cid, model=model, price=price)
                    for cid, (model, price) in CANDIDATES.items())
    return (f"builtin_catalog: false\nproviders: {{openai: {{}}}}\ncandidates:{cands}"
            f"pricing:\n  sources:\n"
            f"    - {{format: litellm, url: '{base}/litellm.json'}}\n"
            f"    - {{format: genai-prices, url: '{base}/genai.json'}}\n"
            f"    - {{format: yaml, url: '{negotiated}'}}\n")


@pytest.fixture
def server() -> Iterator[SourceServer]:
    srv = SourceServer()
    srv.routes["/litellm.json"] = Route.fixture("litellm_model_prices_and_context_window.json")
    srv.routes["/genai.json"] = Route.fixture("genai_prices_0.2.5_data_excerpt.json",
                                              etag='"g1"')
    yield srv
    srv.close()


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url  # the points themselves are held to both backends in test_price_points


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c


@pytest.fixture
def negotiated(tmp_path: Path) -> Path:
    path = tmp_path / "negotiated.yaml"
    path.write_text("prices: {}\n")
    return path


@pytest.fixture
def settings(server: SourceServer, negotiated: Path, tmp_path: Path) -> Settings:
    path = tmp_path / "fw.yaml"
    path.write_text(config(server.base, negotiated))
    return load_settings(path, environ={})


@pytest.fixture
def watch(settings: Settings, engine: Engine, client: httpx.AsyncClient) -> Watch:
    w = Watch(settings, engine, CollectorRegistry(), lambda: client)
    with Session(engine) as session, session.begin():
        w.prepare(session, NOW)
    return w


async def poll(watch: Watch, fmt: str) -> None:
    await next(p for _, p in watch.pricing if p.format == fmt).poll()


def points(engine: Engine, cid: str) -> list[PricePoint]:
    with Session(engine) as session:
        return list(session.exec(select(PricePoint).where(PricePoint.candidate_id == cid)
                                 .order_by(PricePoint.effective_at)).all())  # type: ignore[arg-type]


def _day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def test_genai_prices_history_is_seeded_as_past_points_once_and_without_events(
        watch: Watch, engine: Engine, server: SourceServer) -> None:
    await poll(watch, "genai-prices")
    with Session(engine) as session:
        history = price_history(session, "openai/o3", NOW - timedelta(days=3 * 365), NOW)
    assert [(p.effective_at, p.source, p.input_per_mtok, p.output_per_mtok,
             p.batch_input_per_mtok) for p in history] == [
        (_day("2025-06-09"), "genai-prices", 10.0, 40.0, None),
        (_day("2025-06-10"), "genai-prices", 2.0, 8.0, None),
        (_day("2026-10-14"), "genai-prices", 2.0, 8.0, 1.0)]  # the current price, no new point
    with Session(engine) as session:
        assert session.exec(select(Event)).all() == []
    server.routes["/genai.json"].etag = '"g2"'  # read again in full: nothing new to add
    await poll(watch, "genai-prices")
    assert len(points(engine, "openai/o3")) == 3


@pytest.mark.parametrize("order", [("litellm", "genai-prices"), ("genai-prices", "litellm")])
async def test_a_fallback_list_prices_what_the_source_list_lacks_whatever_answers_first(
        order: tuple[str, str], watch: Watch, engine: Engine) -> None:
    await poll(watch, order[0])
    # Until both have answered nothing is decided: LiteLLM (its source) may have it, and
    # genai-prices comes before a later answer could change the choice.
    assert points(engine, "openai/gone") == []
    await poll(watch, order[1])
    (gone,) = points(engine, "openai/gone")
    assert (gone.source, gone.input_per_mtok, gone.output_per_mtok) == ("genai-prices", 2.0, 8.0)
    # gpt-4o is in LiteLLM, its source: the fallback is not used.
    assert {p.source for p in points(engine, "openai/gpt-4o")} == {"litellm"}


async def test_the_negotiated_price_beats_the_source_and_its_fallbacks(
        watch: Watch, engine: Engine, negotiated: Path) -> None:
    await poll(watch, "litellm")
    await poll(watch, "genai-prices")
    negotiated.write_text("prices:\n  openai/gone: {input_per_mtok: 1.5, output_per_mtok: 6}\n")
    await poll(watch, "yaml")
    last = points(engine, "openai/gone")[-1]
    assert (last.source, last.input_per_mtok) == ("yaml", 1.5)


def _list(fmt: str, quotes: dict[str, Price], errors: dict[str, str] | None = None
          ) -> PriceList:
    return PriceList(fmt, quotes, errors or {})


def test_resolve_says_why_each_list_of_the_chain_had_no_usable_entry(
        settings: Settings) -> None:
    lists = {"litellm": _list("litellm", {}),
             "genai-prices": _list("genai-prices", {}, {
                 "openai/gpt-4.1": "openai/gpt-4.1: input_mtok is negative: -2"})}
    quotes, errors = resolve(settings.candidates, lists, {"litellm", "genai-prices", "yaml"})
    assert errors["openai/gone"] == ("no entry 'gpt-gone' in the litellm list; "
                                     "openai/gpt-4.1: input_mtok is negative: -2")
    assert quotes == []
    # A fallback list some source polls but that has not answered yet: nothing is decided.
    _, errors = resolve(settings.candidates, {"litellm": lists["litellm"]},
                        {"litellm", "genai-prices"})
    assert errors["openai/gone"] == "no entry 'gpt-gone' in the litellm list"
