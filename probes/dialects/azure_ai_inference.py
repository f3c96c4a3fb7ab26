"""Azure AI Foundry's model inference endpoint (`api: azure-ai-inference`): the models of
other makers (Mistral, Llama, DeepSeek, Phi, ...) deployed in a Foundry resource, behind one
OpenAI-compatible Chat Completions API:

    POST {base}/chat/completions?api-version=2024-05-01-preview      with `model` in the body

`base_url` is the endpoint the portal shows, https://{resource}.services.ai.azure.com/models
(`/models` is added when missing); `model` is the deployment name. The key goes in the
`api-key` header; with no key configured, a Microsoft Entra ID token goes as
`Authorization: Bearer` (probes/cloud_auth.py). The stream is OpenAI's, so parsing is the
OpenAI dialect's. An `?api-version=` on base_url overrides the default below.

`extra-parameters: drop`: by default the service answers 400 to a parameter outside its API
(`extra-parameters: error`), and Chat Completions' `stream_options` (usage at the end) is not
among the 2024-05-01-preview parameters; dropped, a model that sends no usage has its token
count estimated, as for any stream without usage.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

from probes.dialects import Chat, HttpRequest
from probes.dialects.openai import OpenAIDialect, chat_body
from probes.target import Target

API_VERSION = "2024-05-01-preview"


class AzureAIInferenceDialect(OpenAIDialect):
    name = "azure-ai-inference"

    def build_request(self, target: Target, chat: Chat | None = None) -> HttpRequest:
        headers = {"Accept": "text/event-stream", "Content-Type": "application/json",
                   "extra-parameters": "drop"}
        if target.api_key:
            headers["api-key"] = target.api_key
        parts = urlsplit(target.base_url)
        query = dict(parse_qsl(parts.query))
        query.setdefault("api-version", API_VERSION)
        base = parts._replace(query="", fragment="").geturl().rstrip("/")
        if not base.endswith("/models"):
            base += "/models"
        body = {"model": target.model, **chat_body(chat or Chat.of(target))}
        return HttpRequest(method="POST", url=f"{base}/chat/completions?{urlencode(query)}",
                           headers=headers, json=body)
