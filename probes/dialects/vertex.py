"""Vertex AI: Gemini (`api: vertex`) and Anthropic's Claude (`api: vertex-anthropic`).

`base_url` names the project and the location, as Vertex's own resource names do:

    https://{location}-aiplatform.googleapis.com/v1/projects/{project}/locations/{location}
    https://aiplatform.googleapis.com/v1/projects/{project}/locations/global   (global)

and the dialects append the publisher's model path:

    {base}/publishers/google/models/{model}:streamGenerateContent?alt=sse
    {base}/publishers/anthropic/models/{model}:streamRawPredict

Two dialects rather than one choosing by publisher: the bodies and the streams differ
(Gemini's GenerateContentResponse chunks; Anthropic's Messages events), and the api name
then says which parser reads a candidate's stream. Each parses as its first-party twin
(probes/dialects/gemini.py, anthropic.py). The Anthropic body is the Messages body without
`model` (it is in the URL) and with `anthropic_version: vertex-2023-10-16` instead of the
header. The token comes from Google Application Default Credentials (probes/cloud_auth.py);
a configured api key is not used.
"""

from __future__ import annotations

import re
from dataclasses import replace
from urllib.parse import quote

from probes.dialects import Chat, HttpRequest
from probes.dialects.anthropic import AnthropicDialect
from probes.dialects.gemini import GeminiDialect
from probes.target import Target

ANTHROPIC_VERSION = "vertex-2023-10-16"
_RESOURCE = re.compile(r"/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)$")


def check_base_url(base_url: str) -> None:
    """ValueError unless `base_url` ends in /projects/{project}/locations/{location}."""
    if _RESOURCE.search(base_url.rstrip("/")) is None:
        raise ValueError(
            "a Vertex AI base_url ends in /projects/{project}/locations/{location}, e.g. "
            "https://us-east5-aiplatform.googleapis.com/v1/projects/my-project/locations/"
            "us-east5")


def where(base_url: str) -> str:
    """'location L of project P', for messages; the base_url when it does not say."""
    found = _RESOURCE.search(base_url.rstrip("/"))
    if found is None:
        return base_url
    return f"location {found['location']} of project {found['project']}"


def _model_url(target: Target, publisher: str, method: str) -> str:
    model = target.model.rsplit("/", 1)[-1]  # publishers/google/models/X -> X
    return (f"{target.base_url.rstrip('/')}/publishers/{publisher}/models/"
            f"{quote(model, safe='-._~@')}:{method}")


def explain_404(target: Target) -> str:
    return (f"model {target.model!r} not found in {where(target.base_url)}, or not enabled "
            "there: check the model id, and that the model is offered in that location")


class VertexGeminiDialect(GeminiDialect):
    name = "vertex"
    check_base_url = staticmethod(check_base_url)

    def build_request(self, target: Target, chat: Chat | None = None) -> HttpRequest:
        gemini = super().build_request(replace(target, api_key=None), chat)
        url = _model_url(target, "google", "streamGenerateContent") + "?alt=sse"
        return HttpRequest(method="POST", url=url, headers=gemini.headers, json=gemini.json)

    def explain_404(self, target: Target) -> str:
        return explain_404(target)


class VertexAnthropicDialect(AnthropicDialect):
    name = "vertex-anthropic"
    check_base_url = staticmethod(check_base_url)

    def build_request(self, target: Target, chat: Chat | None = None) -> HttpRequest:
        messages = super().build_request(replace(target, api_key=None), chat)
        headers = {k: v for k, v in messages.headers.items() if k != "anthropic-version"}
        body = {"anthropic_version": ANTHROPIC_VERSION,
                **{k: v for k, v in messages.json.items() if k != "model"}}
        url = _model_url(target, "anthropic", "streamRawPredict")
        return HttpRequest(method="POST", url=url, headers=headers, json=body)

    def explain_404(self, target: Target) -> str:
        return explain_404(target)
