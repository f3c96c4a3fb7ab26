"""OpenAI's GET {base}/models and the hosts that copy it (DeepSeek, Groq, Mistral,
OpenRouter, Together, vLLM, Ollama).

The list is `{"object": "list", "data": [{"id", "object", "created", "owned_by"}]}`, one
page. Together answers a bare array of the same objects, each with `type` (`chat`,
`language`, `code`, `image`, `embedding`, `moderation`, `rerank`) and `display_name`;
Mistral's objects carry `capabilities.completion_chat`; OpenRouter's a `name`. The key goes
in `Authorization: Bearer`.
"""

from __future__ import annotations

from typing import Any

from probes.models import ListedModel, ListRequest, ModelPage, ParseError, load_object
from probes.models import text_or_none as text

NAME = "openai"


def request(base_url: str, key: str | None, cursor: str | None) -> ListRequest:
    headers = {"Accept": "application/json"}
    if key:  # a local OpenAI-compatible server often needs none
        headers["Authorization"] = f"Bearer {key}"
    return ListRequest(base_url.rstrip("/") + "/models", headers)


def parse(body: bytes) -> ModelPage:
    doc = load_object(body)
    items = doc.get("data") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise ParseError("expected {\"data\": [...]} or a list of models")
    models = [_model(item) for item in items if isinstance(item, dict) and text(item.get("id"))]
    return ModelPage(tuple(models))


def _model(item: dict[str, Any]) -> ListedModel:
    chat: bool | None = None
    capabilities = item.get("capabilities")
    if isinstance(capabilities, dict) and isinstance(capabilities.get("completion_chat"), bool):
        chat = capabilities["completion_chat"]  # Mistral
    elif isinstance(item.get("type"), str):
        chat = item["type"] == "chat"  # Together
    return ListedModel(item["id"], text(item.get("display_name")) or text(item.get("name")),
                       chat)
