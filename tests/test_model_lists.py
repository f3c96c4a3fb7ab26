"""Provider model lists (probes/models): real samples parsed, and the fetch against the
simulator, which serves each API's list in its own format, paged, behind its key header."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import httpx
import pytest

from probes.models import LISTERS, ListedModel, ModelListError, ParseError, list_models
from service.sim.behaviour import SimModel
from service.sim.server import SimServer
from tests.conftest import REAL_FIXTURES

KEY = "sk-proj-MODELLISTKEY0123456789abcdef"
SAMPLES = {"openai": "openai_v1_models.json", "anthropic": "anthropic_v1_models.json",
           "gemini": "gemini_v1beta_models.json"}
NAMES = ["alpha", "beta", "gamma", "delta", "epsilon"]


def test_every_api_with_a_model_list_is_registered_by_its_dialect_name() -> None:
    assert sorted(LISTERS) == ["anthropic", "gemini", "openai"]
    assert all(name == lister.NAME for name, lister in LISTERS.items())


def test_openais_real_list() -> None:
    page = LISTERS["openai"].parse((REAL_FIXTURES / SAMPLES["openai"]).read_bytes())
    assert [m.id for m in page.models] == ["o1-mini-2024-09-12", "o1-mini", "gpt-4o",
                                           "gpt-4o-mini", "gpt-4o-2024-08-06",
                                           "gpt-4o-mini-2024-07-18"]
    assert page.next_cursor is None
    assert {m.chat for m in page.models} == {None}  # OpenAI's list does not say


def test_anthropics_real_list() -> None:
    page = LISTERS["anthropic"].parse((REAL_FIXTURES / SAMPLES["anthropic"]).read_bytes())
    assert page.models[0] == ListedModel("claude-3-7-sonnet-20250219", "Claude 3.7 Sonnet", True)
    assert len(page.models) == 6 and page.next_cursor is None  # has_more: false


def test_geminis_real_list_tells_chat_models_from_embeddings() -> None:
    page = LISTERS["gemini"].parse((REAL_FIXTURES / SAMPLES["gemini"]).read_bytes())
    assert page.models[0] == ListedModel("gemini-2.5-flash", "Gemini 2.5 Flash", True)
    assert [m.id for m in page.models if m.chat is False] == ["embedding-001",
                                                             "text-embedding-004"]


def test_pages_and_the_hosts_that_copy_openai() -> None:
    anthropic = LISTERS["anthropic"].parse(
        b'{"data": [{"type": "model", "id": "a"}], "has_more": true, "last_id": "a"}')
    assert anthropic.next_cursor == "a"
    gemini = LISTERS["gemini"].parse(b'{"models": [], "nextPageToken": "t2"}')
    assert gemini == gemini.__class__((), "t2")
    together = LISTERS["openai"].parse(
        b'[{"id": "m/chat", "type": "chat", "display_name": "Chat"},'
        b' {"id": "m/embed", "type": "embedding"}]')
    assert [(m.id, m.name, m.chat) for m in together.models] == [("m/chat", "Chat", True),
                                                                 ("m/embed", None, False)]
    mistral = LISTERS["openai"].parse(
        b'{"object": "list", "data": [{"id": "codestral-embed",'
        b' "capabilities": {"completion_chat": false}}]}')
    assert mistral.models[0].chat is False


@pytest.mark.parametrize("api", sorted(LISTERS))
@pytest.mark.parametrize("body", [b"<html>502</html>", b'{"error": {"code": 500}}', b'{"data": [',
                                  b'"a string"'])
def test_a_body_that_is_not_a_list_is_refused(api: str, body: bytes) -> None:
    with pytest.raises(ParseError):
        LISTERS[api].parse(body)


@pytest.mark.parametrize("api", sorted(LISTERS))
def test_the_key_goes_in_a_header_never_in_the_url(api: str) -> None:
    request = LISTERS[api].request("https://api.example.com/v1", KEY, "cursor")
    assert KEY not in request.url and KEY not in repr(request)
    assert any(KEY in value for value in request.headers.values())


# --- against the simulator --------------------------------------------------------------


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    server = SimServer({name: SimModel() for name in NAMES}, api_key=KEY)
    await server.start()
    yield server
    await server.stop()


@pytest.mark.parametrize("api", sorted(LISTERS))
async def test_every_page_of_the_list_in_order(sim: SimServer, api: str) -> None:
    sim.model_page_size = 2  # Anthropic and Gemini page it; OpenAI's is one page
    async with httpx.AsyncClient() as client:
        models = await list_models(client, api, sim.url_for(api), KEY)
    assert [m.id for m in models] == NAMES


@pytest.mark.parametrize("api", sorted(LISTERS))
async def test_a_removed_model_is_gone_from_the_next_list(sim: SimServer, api: str) -> None:
    async with httpx.AsyncClient() as client:
        del sim.models["gamma"]
        models = await list_models(client, api, sim.url_for(api), KEY)
    assert "gamma" not in [m.id for m in models]


@pytest.mark.parametrize("api", sorted(LISTERS))
async def test_a_refused_key_is_an_auth_error_that_never_shows_it(sim: SimServer,
                                                                  api: str) -> None:
    wrong = "sk-proj-WRONGKEY0123456789abcdefgh"
    async with httpx.AsyncClient() as client:
        with pytest.raises(ModelListError) as caught:
            await list_models(client, api, sim.url_for(api), wrong)
    assert (caught.value.kind, caught.value.status) == ("auth", 401)
    assert wrong not in str(caught.value) and KEY not in str(caught.value)


async def test_a_wrong_base_url_and_a_closed_port(sim: SimServer) -> None:
    async with httpx.AsyncClient() as client:
        with pytest.raises(ModelListError) as caught:
            await list_models(client, "openai", sim.url_for("openai") + "/nowhere", KEY)
        assert (caught.value.kind, caught.value.status) == ("http_status", 404)
        with socket.socket() as unused:
            unused.bind(("127.0.0.1", 0))
            port = unused.getsockname()[1]
        with pytest.raises(ModelListError) as caught:
            await list_models(client, "openai", f"http://127.0.0.1:{port}/v1", KEY)
        assert caught.value.kind == "network" and KEY not in str(caught.value)
