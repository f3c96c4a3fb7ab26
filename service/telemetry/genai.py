"""What a probe is, in the words of the OpenTelemetry GenAI semantic conventions.

The conventions: docs/gen-ai/gen-ai-metrics.md of open-telemetry/semantic-conventions
v1.41.0 (since maintained in open-telemetry/semantic-conventions-genai). Everything here is
plain data, with no OpenTelemetry import, so it is cheap to load and to test; otlp.py
records with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from service.config import CandidateConfig

SCHEMA_URL = "https://opentelemetry.io/schemas/1.41.0"

# Metric names, units and the bucket boundaries the conventions ask for.
OPERATION_DURATION = "gen_ai.client.operation.duration"
TIME_TO_FIRST_CHUNK = "gen_ai.client.operation.time_to_first_chunk"
TOKEN_USAGE = "gen_ai.client.token.usage"
SECONDS_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48,
                   40.96, 81.92)
TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304,
                 16777216, 67108864)

# Probe kinds that send exactly one request: one probe is one GenAI operation. A `quality`
# run asks several items, keeps the first one's timing and sums the usage of all; a `voice`
# run is a realtime session (session setup, then a turn) with no first chunk in these
# names' sense: neither is one operation, so neither is exported under these names
# (Prometheus still counts them).
ONE_REQUEST_KINDS = frozenset({"latency", "uptime", "tools", "long_context"})
SEVERAL_REQUEST_KINDS = frozenset({"quality", "voice"})

# gen_ai.operation.name by dialect: Gemini's generateContent has a name of its own.
OPERATION_NAMES = {"openai": "chat", "azure-openai": "chat", "anthropic": "chat",
                   "gemini": "generate_content", "vertex": "generate_content",
                   "vertex-anthropic": "chat", "azure-ai-inference": "chat",
                   "bedrock": "chat", "bedrock-invoke": "chat",  # Converse; Messages
                   "openai-responses": "chat"}  # a conversation turn, as chat completions

# gen_ai.provider.name: the conventions' well-known value for our provider ids (a provider
# id that is itself a well-known value keeps it; any other id is sent as it is, as the
# conventions allow). Google's value depends on the endpoint: google_provider_name.
WELL_KNOWN_PROVIDERS = frozenset({
    "anthropic", "aws.bedrock", "azure.ai.inference", "azure.ai.openai", "cohere", "deepseek",
    "gcp.gemini", "gcp.gen_ai", "gcp.vertex_ai", "groq", "ibm.watsonx.ai", "mistral_ai",
    "openai", "perplexity", "x_ai"})
PROVIDER_NAMES = {"mistral": "mistral_ai", "azure-openai": "azure.ai.openai",
                  "aws-bedrock": "aws.bedrock", "vertex-claude": "gcp.vertex_ai",
                  "google-ai-studio": "gcp.gemini"}  # the Gemini API with an AI Studio key
GOOGLE = "google"


def google_provider_name(host: str) -> str:
    """gcp.gemini on the AI Studio endpoint, gcp.vertex_ai on Vertex AI's, else gcp.gen_ai."""
    if host == "generativelanguage.googleapis.com":
        return "gcp.gemini"
    if host == "aiplatform.googleapis.com" or host.endswith("-aiplatform.googleapis.com"):
        return "gcp.vertex_ai"
    return "gcp.gen_ai"


def provider_name(provider_id: str, base_url: str) -> str:
    if provider_id in WELL_KNOWN_PROVIDERS:
        return provider_id
    if provider_id == GOOGLE:
        return google_provider_name(urlsplit(base_url).hostname or "")
    return PROVIDER_NAMES.get(provider_id, provider_id)


def server_address_and_port(base_url: str) -> tuple[str, int]:
    parts = urlsplit(base_url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


@dataclass(frozen=True)
class Operation:
    """The attributes every GenAI metric of one candidate's probes carries."""

    attributes: Mapping[str, str | int]

    @classmethod
    def of(cls, candidate_id: str, candidate: CandidateConfig) -> Operation:
        address, port = server_address_and_port(candidate.base_url)
        return cls({
            "gen_ai.operation.name": OPERATION_NAMES.get(candidate.api, "chat"),
            "gen_ai.provider.name": provider_name(candidate.provider, candidate.base_url),
            "gen_ai.request.model": candidate.model,
            "server.address": address,
            "server.port": port,
            # Ours, beside the conventions' (which allow a system's own attributes).
            "factorwatch.candidate": candidate_id,
        })


def operations(candidates: Mapping[str, CandidateConfig]) -> dict[str, Operation]:
    return {cid: Operation.of(cid, cand) for cid, cand in candidates.items()}
