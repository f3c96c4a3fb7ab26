"""The Gemini API's GET {base}/models (base https://generativelanguage.googleapis.com/v1beta).

A page is `{"models": [{"name": "models/<id>", "displayName", "supportedGenerationMethods",
...}], "nextPageToken"}`; the next page is `?pageToken=<token>`, up to 1,000 a page. A model
answers chat when its methods include `generateContent` (embedding models list only
`embedContent`). The key goes in `x-goog-api-key`, never in the URL.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from probes.models import ListedModel, ListRequest, ModelPage, ParseError, load_object
from probes.models import text_or_none as text

NAME = "gemini"
PAGE_SIZE = 1000


def request(base_url: str, key: str | None, cursor: str | None) -> ListRequest:
    headers = {"Accept": "application/json"}
    if key:
        headers["x-goog-api-key"] = key
    query = {"pageSize": PAGE_SIZE, **({"pageToken": cursor} if cursor else {})}
    return ListRequest(f"{base_url.rstrip('/')}/models?{urlencode(query)}", headers)


def parse(body: bytes) -> ModelPage:
    doc = load_object(body)
    # An empty list may leave out "models" altogether, as Google's JSON does with empty fields.
    if not isinstance(doc, dict) or "error" in doc or not isinstance(doc.get("models", []),
                                                                      list):
        raise ParseError("expected {\"models\": [...]}")
    models = tuple(_model(item) for item in doc.get("models", [])
                   if isinstance(item, dict) and text(item.get("name")))
    return ModelPage(models, text(doc.get("nextPageToken")))


def _model(item: dict[str, Any]) -> ListedModel:
    methods = item.get("supportedGenerationMethods")
    chat = "generateContent" in methods if isinstance(methods, list) else None
    return ListedModel(item["name"].removeprefix("models/"), text(item.get("displayName")),
                       chat)
