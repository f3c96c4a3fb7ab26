"""Anthropic's GET {base}/models (base https://api.anthropic.com/v1).

A page is `{"data": [{"type": "model", "id", "display_name", "created_at"}], "has_more",
"first_id", "last_id"}`, newest first; the next page is `?after_id=<last_id>`. Up to 1,000
a page. The key goes in `x-api-key`, with the `anthropic-version` header every request
needs. Every model it lists answers the Messages API.
"""

from __future__ import annotations

from urllib.parse import urlencode

from probes.dialects.anthropic import API_VERSION
from probes.models import ListedModel, ListRequest, ModelPage, ParseError, load_object
from probes.models import text_or_none as text

NAME = "anthropic"
PAGE_SIZE = 1000


def request(base_url: str, key: str | None, cursor: str | None) -> ListRequest:
    headers = {"Accept": "application/json", "anthropic-version": API_VERSION}
    if key:
        headers["x-api-key"] = key
    query = {"limit": PAGE_SIZE, **({"after_id": cursor} if cursor else {})}
    return ListRequest(f"{base_url.rstrip('/')}/models?{urlencode(query)}", headers)


def parse(body: bytes) -> ModelPage:
    doc = load_object(body)
    items = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise ParseError("expected {\"data\": [...], \"has_more\": ...}")
    models = tuple(ListedModel(item["id"], text(item.get("display_name")), True)
                   for item in items if isinstance(item, dict) and text(item.get("id")))
    more = doc.get("has_more") is True and text(doc.get("last_id"))
    return ModelPage(models, more or None)
