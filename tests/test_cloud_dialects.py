"""The cloud-hosted dialects without a network: Vertex AI (Gemini, Claude) and Azure AI
Foundry requests, a real captured Vertex stream, the Vertex error taxonomy, and where the
credentials rule sends a key or a token."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
import yaml

from probes.auth import CredentialsError, with_credentials
from probes.cloud_auth import AzureEntra, GoogleADC, RefreshingToken
from probes.dialects import DIALECTS, Chat, ToolSpec
from probes.http_errors import check_response
from probes.result import ErrorClass
from probes.stream import _explained
from probes.target import Target
from service.config import load_settings
from service.config.candidates import CandidateConfig
from service.probing.pipeline import build_targets
from tests.conftest import REAL_FIXTURES as FIXTURES
from tests.test_dialects import parse_chunked, parse_whole, tally_of

VERTEX_BASE = "https://us-east5-aiplatform.googleapis.com/v1/projects/acme-prod/locations/us-east5"
WEATHER = ToolSpec("get_weather", "Weather for a city.",
                   {"type": "object", "properties": {"city": {"type": "string"}}})
VERTEX_STREAM = "vertex_streamGenerateContent_flex_thought_signature.sse"


def target(api: str, base_url: str = VERTEX_BASE, **kw: object) -> Target:
    return Target(api=api, base_url=base_url, **{"model": "m", **kw})  # type: ignore[arg-type]


def test_the_real_vertex_request_url_is_what_the_dialect_builds() -> None:
    cassette = yaml.safe_load(
        (FIXTURES / "vertex_streamGenerateContent_flex_thought_signature.vcr_cassette.yaml")
        .read_text())
    recorded = cassette["interactions"][0]["request"]
    base = "https://aiplatform.googleapis.com/v1beta1/projects/pydantic-ai/locations/global"
    request = DIALECTS["vertex"].build_request(target("vertex", base,
                                                      model="gemini-3-flash-preview",
                                                      prompt="Reply with exactly: OK"))
    assert request.url == recorded["uri"]
    assert request.json["contents"] == recorded["parsed_body"]["contents"]


@pytest.mark.parametrize("seed", [None, 1, 2])
def test_a_real_vertex_stream_reads_text_usage_and_end(seed: int | None) -> None:
    events = (parse_whole("vertex", VERTEX_STREAM) if seed is None
              else parse_chunked("vertex", VERTEX_STREAM, seed))
    tally = tally_of(events)
    assert tally.text() == "OK" and tally.stop_reason == "STOP"
    assert tally.finished_at is not None
    assert tally.usage is not None  # thinking tokens are billed as output
    assert (tally.usage.input_tokens, tally.usage.output_tokens) == (5, 1 + 100)


def test_vertex_gemini_request_carries_no_key_and_gemini_body() -> None:
    request = DIALECTS["vertex"].build_request(
        target("vertex", model="gemini-2.5-flash", api_key="AIzaNOTUSED0123456789"),
        Chat("Hi", 7, (WEATHER,)))
    assert request.url == (VERTEX_BASE + "/publishers/google/models/gemini-2.5-flash"
                           ":streamGenerateContent?alt=sse")
    assert "x-goog-api-key" not in request.headers and "AIza" not in json.dumps(request.json)
    assert request.json["generationConfig"] == {"maxOutputTokens": 7}
    declared = request.json["tools"][0]["functionDeclarations"][0]
    assert declared["name"] == "get_weather"


def test_vertex_anthropic_request_is_messages_without_model_with_vertex_version() -> None:
    request = DIALECTS["vertex-anthropic"].build_request(
        target("vertex-anthropic", model="claude-sonnet-4-5@20250929"), Chat("Hi", 9, (WEATHER,)))
    assert request.url == (VERTEX_BASE + "/publishers/anthropic/models/"
                           "claude-sonnet-4-5@20250929:streamRawPredict")
    body = request.json
    assert "model" not in body and body["anthropic_version"] == "vertex-2023-10-16"
    assert body["stream"] is True and body["max_tokens"] == 9
    assert body["tools"][0]["input_schema"] == dict(WEATHER.parameters)
    assert "anthropic-version" not in request.headers and "x-api-key" not in request.headers


@pytest.mark.parametrize(("base_url", "url"), [
    ("https://res.services.ai.azure.com/models",
     "https://res.services.ai.azure.com/models/chat/completions?api-version=2024-05-01-preview"),
    ("https://res.services.ai.azure.com",
     "https://res.services.ai.azure.com/models/chat/completions?api-version=2024-05-01-preview"),
    ("https://res.services.ai.azure.com/models?api-version=2025-05-01",
     "https://res.services.ai.azure.com/models/chat/completions?api-version=2025-05-01"),
])
def test_foundry_request_names_the_model_in_the_body(base_url: str, url: str) -> None:
    request = DIALECTS["azure-ai-inference"].build_request(
        target("azure-ai-inference", base_url, model="Mistral-Large-2411", api_key="k-1"))
    assert request.url == url
    assert request.json["model"] == "Mistral-Large-2411" and request.json["stream"] is True
    assert request.headers["api-key"] == "k-1" and "Authorization" not in request.headers
    assert request.headers["extra-parameters"] == "drop"


@pytest.mark.parametrize("base_url", [
    "https://us-east5-aiplatform.googleapis.com/v1",
    "https://aiplatform.googleapis.com/v1/projects/p",
])
def test_a_vertex_base_url_without_project_and_location_is_refused_at_load(
        base_url: str) -> None:
    with pytest.raises(ValueError, match=r"ends in /projects/\{project\}/locations"):
        CandidateConfig(provider="google-vertex", api="vertex", base_url=base_url, model="m")
    CandidateConfig(provider="google-vertex", api="vertex", base_url=VERTEX_BASE + "/",
                    model="m")


def test_credentials_rule_key_if_configured_else_the_clouds_chain() -> None:
    assert isinstance(with_credentials(target("vertex")).credentials, GoogleADC)
    assert isinstance(with_credentials(target("vertex-anthropic")).credentials, GoogleADC)
    for api in ("azure-openai", "azure-ai-inference"):
        assert isinstance(with_credentials(target(api)).credentials, AzureEntra)
        assert with_credentials(target(api, api_key="k")).credentials is None
    assert with_credentials(target("openai")).credentials is None


# Vertex's error bodies (google.rpc.Status, as Google APIs answer them).
def vertex_error(status: int, code: str, message: str) -> httpx.Response:
    body = {"error": {"code": status, "message": message, "status": code}}
    return httpx.Response(status, json=body, headers={"content-type": "application/json"})


@pytest.mark.parametrize(("status", "code", "error_class"), [
    (403, "PERMISSION_DENIED", ErrorClass.AUTH),
    (429, "RESOURCE_EXHAUSTED", ErrorClass.RATE_LIMITED),
    (400, "INVALID_ARGUMENT", ErrorClass.HTTP_4XX),
    (404, "NOT_FOUND", ErrorClass.HTTP_4XX),
])
async def test_vertex_errors_map_to_the_taxonomy(status: int, code: str,
                                                 error_class: ErrorClass) -> None:
    vertex = target("vertex", model="gemini-9")
    response = vertex_error(status, code, f"{code.lower()} for gemini-9")
    failure = _explained(await check_response(response, None), DIALECTS["vertex"], vertex)
    assert failure is not None and failure[0] == error_class
    explained = "not found in location us-east5 of project acme-prod" in failure[1]
    assert explained is (status == 404)


class CountingToken(RefreshingToken):
    """Tokens that live `lifetime` seconds on a clock the test moves."""

    def __init__(self, lifetime: float) -> None:
        self.now = 1000.0
        super().__init__(clock=lambda: self.now)
        self.lifetime = lifetime

    def _fetch(self) -> tuple[str, float | None]:
        return f"tok-{self.fetches}", self.now + self.lifetime


@pytest.mark.parametrize(("lifetime", "kept_for"), [(3600.0, 3300.0), (60.0, 30.0)])
async def test_a_token_is_kept_until_5_minutes_or_half_its_life_before_expiry(
        lifetime: float, kept_for: float) -> None:
    token = CountingToken(lifetime)
    request = DIALECTS["vertex"].build_request(target("vertex"))
    assert await token.authorize(request, b"") == {"Authorization": "Bearer tok-0"}
    token.now += kept_for - 1
    assert await token.authorize(request, b"") == {"Authorization": "Bearer tok-0"}
    token.now += 1
    assert await token.authorize(request, b"") == {"Authorization": "Bearer tok-1"}
    assert token.fetches == 2 and "tok" not in repr(token)


async def test_probes_that_need_a_token_at_once_share_one_fetch() -> None:
    token = CountingToken(3600.0)
    request = DIALECTS["vertex"].build_request(target("vertex"))
    answers = await asyncio.gather(*(token.authorize(request, b"") for _ in range(8)))
    assert token.fetches == 1 and {a["Authorization"] for a in answers} == {"Bearer tok-0"}


class FailingToken(RefreshingToken):
    what = "Test chain"

    def _fetch(self) -> tuple[str, float | None]:
        raise RuntimeError("refused: Bearer ya29.SECRET-in-a-library-message", {"raw": 1})


async def test_a_failed_fetch_is_a_credentials_error_with_no_secret() -> None:
    with pytest.raises(CredentialsError) as caught:
        await FailingToken().authorize(DIALECTS["vertex"].build_request(target("vertex")), b"")
    assert str(caught.value) == "Test chain: RuntimeError: refused: Bearer [REDACTED]"
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_the_daemon_probes_cloud_candidates_by_the_credentials_rule(tmp_path: Path) -> None:
    config = tmp_path / "fw.yaml"
    config.write_text(f"""
builtin_catalog: false
providers: {{g: {{}}, a: {{}}}}
candidates:
  g/gemini: {{provider: g, api: vertex, base_url: "{VERTEX_BASE}", model: gemini-3.8-flash,
             probes: {{latency: {{every: 1m}}}}}}
  a/entra: {{provider: a, api: azure-openai, base_url: "https://r.openai.azure.com",
            model: gpt, probes: {{latency: {{every: 1m}}}}}}
  a/keyed: {{provider: a, api: azure-ai-inference, base_url: "https://r.services.ai.azure.com",
            model: m, api_key_env: FOUNDRY_KEY, probes: {{latency: {{every: 1m}}}}}}
""")
    settings = load_settings(config, environ={})
    targets, skipped = build_targets(settings, {})
    assert isinstance(targets["g/gemini"].credentials, GoogleADC)
    assert isinstance(targets["a/entra"].credentials, AzureEntra)
    assert skipped == ["a/keyed: environment variable FOUNDRY_KEY is not set"]
    targets, _ = build_targets(settings, {"FOUNDRY_KEY": "k-1"})
    assert targets["a/keyed"].credentials is None and targets["a/keyed"].api_key == "k-1"
