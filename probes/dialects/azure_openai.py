"""Azure OpenAI: Chat Completions behind a deployment URL, with an `api-key` header.

    POST {base}/openai/deployments/{deployment}/chat/completions?api-version=...

`base_url` is the resource endpoint (https://NAME.openai.azure.com), `model` the deployment
name. The stream is OpenAI's (Azure may add `choices: []` chunks carrying
prompt_filter_results, which hold no token), so parsing is the OpenAI dialect's.
An `?api-version=` on base_url overrides the default below.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from probes.dialects import Chat, HttpRequest
from probes.dialects.openai import OpenAIDialect, chat_body, with_reasoning
from probes.target import Target

# The GA version that streams usage (stream_options.include_usage).
API_VERSION = "2024-10-21"


class AzureOpenAIDialect(OpenAIDialect):
    name = "azure-openai"

    def build_request(self, target: Target, chat: Chat | None = None) -> HttpRequest:
        headers = {"Accept": "text/event-stream", "Content-Type": "application/json"}
        if target.api_key:
            headers["api-key"] = target.api_key
        parts = urlsplit(target.base_url)
        query = dict(parse_qsl(parts.query))
        query.setdefault("api-version", API_VERSION)
        base = parts._replace(query="", fragment="").geturl().rstrip("/")
        deployment = quote(target.model, safe="-._~")
        url = f"{base}/openai/deployments/{deployment}/chat/completions?{urlencode(query)}"
        return HttpRequest(method="POST", url=url, headers=headers,
                           json=with_reasoning(chat_body(chat or Chat.of(target)), target))
