"""Routing documents: the candidates that may serve a workload now, in rank order, rendered
for a gateway (docs/routing.md). Pure: built from one saved ranking's entries and the config.

May serve now: ranked (not gated, with a composite) and `serving` or `degraded`. Never
`down` or `throttled`. Not `unknown` either: no probe answered in the state window, so
nothing shows it answers (a candidate factorwatch has no key for is never probed). The one
exception is a monitor outage (docs/scoring.md, States): every candidate that answered failed
at once, factorwatch blames its own network and marks them unknown; they keep their place,
as factorwatch's own outage is no evidence against them and an empty route would stop every
gateway that follows it.

The order is the ranking's; `tied` is the ranking's mark (statistically tied with the entry
ranked just above it). The version identifies the order: candidates and tie marks, nothing
else, so it changes exactly when they do.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import yaml

from probes.dialects.azure_openai import API_VERSION as AZURE_API_VERSION
from service.config import CandidateConfig
from service.scoring.states import DEGRADED, MONITOR_OUTAGE, SERVING, UNKNOWN

FORMATS = ("litellm", "openrouter", "json")
MEDIA_TYPES = {"litellm": "application/yaml", "openrouter": "application/json",
               "json": "application/json"}

# The state reason the ranking gives every candidate in a monitor outage starts so.
_MONITOR_OUTAGE_REASON = MONITOR_OUTAGE.split("{", 1)[0]


@dataclass(frozen=True)
class Routed:
    candidate: str
    position: int  # 1 = tried first
    rank: int
    tied: bool
    state: str


@dataclass(frozen=True)
class Excluded:
    candidate: str
    reason: str


@dataclass(frozen=True)
class Routing:
    workload: str
    evaluation_id: int | None
    evaluated_at: datetime
    order: tuple[Routed, ...]
    excluded: tuple[Excluded, ...]

    @property
    def version(self) -> str:
        key = json.dumps([[r.candidate, r.tied] for r in self.order])
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    @property
    def first(self) -> str | None:
        return self.order[0].candidate if self.order else None


def exclusion(entry: Mapping[str, Any]) -> str | None:
    """Why a ranking entry may not serve now; None when it may."""
    if entry.get("gated"):
        return "gated: " + ("; ".join(entry.get("gate_reasons") or []) or "a gate excludes it")
    if entry.get("rank") is None:
        return "not ranked: no composite score"
    state = entry.get("state") or UNKNOWN
    reason = entry.get("state_reason") or ""
    if state in (SERVING, DEGRADED):
        return None
    if state == UNKNOWN and reason.startswith(_MONITOR_OUTAGE_REASON):
        return None
    return f"{state}: {reason}" if reason else state


def build_routing(workload: str, entries: Iterable[Mapping[str, Any]],
                  evaluation_id: int | None, evaluated_at: datetime) -> Routing:
    """The routing of one ranking. `entries` are ranking-document entries (candidate, rank,
    tied, state, state_reason, gated, gate_reasons), in any order."""
    ordered = sorted(entries, key=lambda e: (e.get("rank") is None, e.get("rank") or 0,
                                             e["candidate"]))
    order: list[Routed] = []
    excluded: list[Excluded] = []
    for entry in ordered:
        why = exclusion(entry)
        if why is None:
            order.append(Routed(entry["candidate"], len(order) + 1, entry["rank"],
                                bool(entry.get("tied")), entry.get("state") or UNKNOWN))
        else:
            excluded.append(Excluded(entry["candidate"], why))
    return Routing(workload, evaluation_id, evaluated_at, tuple(order), tuple(excluded))


# --- what changed between two routings (the routing_changed event) --------------------------

def routing_changes(old: Routing, new: Routing) -> list[dict[str, Any]]:
    """Per candidate that joined, left, moved or changed its tie mark: where it was and is
    (positions, None when not in the order) and why, in the new order, then those that left."""
    was = {r.candidate: r for r in old.order}
    now = {r.candidate: r for r in new.order}
    why_out_then = {e.candidate: e.reason for e in old.excluded}
    why_out_now = {e.candidate: e.reason for e in new.excluded}
    out: list[dict[str, Any]] = []
    for r in new.order:
        before = was.get(r.candidate)
        if before is None:
            earlier = why_out_then.get(r.candidate, "not ranked")
            why = f"joined at {r.position}: {r.state} (was {earlier})"
        elif before.position != r.position:
            why = f"moved {before.position} → {r.position}"
        elif before.tied != r.tied:
            why = "now tied with the one ranked above" if r.tied else "no longer tied"
        else:
            continue
        out.append({"candidate": r.candidate, "was": before.position if before else None,
                    "now": r.position, "why": why})
    for r in old.order:
        if r.candidate not in now:
            gone = why_out_now.get(r.candidate, "no longer ranked")
            out.append({"candidate": r.candidate, "was": r.position, "now": None,
                        "why": f"left: {gone}"})
    return out


def change_payload(old: Routing, new: Routing) -> dict[str, Any]:
    """The routing_changed event's payload (docs/alerts.md)."""
    changes = routing_changes(old, new)
    return {
        "workload": new.workload, "evaluation_id": new.evaluation_id,
        "evaluated_at": new.evaluated_at.isoformat(),
        "old_version": old.version, "new_version": new.version,
        "old_order": [{"candidate": r.candidate, "tied": r.tied} for r in old.order],
        "new_order": [{"candidate": r.candidate, "tied": r.tied} for r in new.order],
        "changes": changes,
        "reason": "; ".join(f"{c['candidate']} {c['why']}" for c in changes),
    }


# --- the endpoint a gateway calls: from the candidate's config, never a secret ---------------

def clean_base_url(base_url: str) -> tuple[str, bool]:
    """(base_url without user:password@ and without query parameters other than Azure's
    api-version, whether something was dropped). What is dropped may be a credential."""
    parts = urlsplit(base_url)
    host = parts.netloc.rpartition("@")[2]
    query = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in query if k == "api-version"]
    dropped = host != parts.netloc or len(kept) != len(query) or bool(parts.fragment)
    clean = parts._replace(netloc=host, query=urlencode(kept), fragment="").geturl()
    return clean, dropped


DROPPED_NOTE = ("its base_url has a user:password@ or query parameters, which may hold a "
                "secret and are left out: add them yourself")
KEY_FILE_NOTE = ("factorwatch reads this candidate's key from a file (api_key_file), so it "
                 "has no variable to name: set api_key yourself, e.g. os.environ/NAME")


def endpoint(cand: CandidateConfig) -> dict[str, Any]:
    base_url, _ = clean_base_url(cand.base_url)
    return {"provider": cand.provider, "api": cand.api, "model": cand.model,
            "base_url": base_url, "api_key_env": cand.api_key_env,
            "api_key_from_file": cand.api_key_file is not None}


def render_json(routing: Routing, candidates: Mapping[str, CandidateConfig]) -> dict[str, Any]:
    return {
        "workload": routing.workload, "version": routing.version,
        "evaluation_id": routing.evaluation_id,
        "evaluated_at": routing.evaluated_at.isoformat(),
        "candidates": [{"candidate": r.candidate, "position": r.position, "rank": r.rank,
                        "tied": r.tied, "state": r.state,
                        "endpoint": endpoint(candidates[r.candidate])
                        if _configured(r.candidate, candidates) else None}
                       for r in routing.order],
        "excluded": [{"candidate": e.candidate, "reason": e.reason} for e in routing.excluded],
    }


def _configured(cid: str, candidates: Mapping[str, CandidateConfig]) -> bool:
    cand = candidates.get(cid)
    return cand is not None and cand.enabled


# --- LiteLLM: one model group per workload, `order` = position ------------------------------

# factorwatch's api -> LiteLLM's provider prefix (each takes api_base as factorwatch's base_url).
LITELLM_PROVIDERS = {"openai": "openai", "anthropic": "anthropic", "gemini": "gemini",
                     "azure-openai": "azure"}
# A candidate configured without a key is probed without one; LiteLLM's clients refuse to
# send a request with no key at all, so it gets this placeholder (not a secret).
NO_KEY = "no-key"


def litellm_deployment(workload: str, routed: Routed, cand: CandidateConfig
                       ) -> dict[str, Any]:
    base_url, dropped = clean_base_url(cand.base_url)
    parts = urlsplit(base_url)
    params: dict[str, Any] = {"model": f"{LITELLM_PROVIDERS[cand.api]}/{cand.model}",
                              "api_base": parts._replace(query="").geturl()}
    if cand.api == "azure-openai":
        params["api_version"] = dict(parse_qsl(parts.query)).get("api-version",
                                                                 AZURE_API_VERSION)
    else:
        dropped = dropped or bool(parts.query)  # only Azure's LiteLLM client takes a version
    notes = [DROPPED_NOTE] if dropped else []
    if cand.api_key_env:
        params["api_key"] = f"os.environ/{cand.api_key_env}"
    elif cand.api_key_file:
        notes.append(KEY_FILE_NOTE)
    else:
        params["api_key"] = NO_KEY
    params["order"] = routed.position
    info: dict[str, Any] = {"id": f"{workload}/{routed.candidate}",
                            "factorwatch_candidate": routed.candidate,
                            "factorwatch_tied": routed.tied}
    if notes:
        info["factorwatch_notes"] = notes
    return {"model_name": workload, "litellm_params": params, "model_info": info}


def render_litellm(routing: Routing, candidates: Mapping[str, CandidateConfig]) -> str:
    """A LiteLLM proxy config fragment (YAML). Only what a gateway applies is in it (the
    order, tie marks and endpoints), so it changes only when they do."""
    deployments, skipped = [], []
    for r in routing.order:
        cand = candidates.get(r.candidate)
        if cand is None or not cand.enabled:
            skipped.append(f"{r.candidate} (no longer enabled in factorwatch's config)")
        elif cand.api not in LITELLM_PROVIDERS:
            skipped.append(f"{r.candidate} (api {cand.api} has no LiteLLM provider here)")
        else:
            deployments.append(litellm_deployment(routing.workload, r, cand))
    lines = [f"# factorwatch routing of workload {routing.workload}, version {routing.version}",
             "# The candidates that may serve it now, in rank order: LiteLLM sends to order 1,",
             "# and to the next order when every deployment of one has failed.",
             "# Keys are os.environ/ references: factorwatch never writes a key here."]
    if not deployments:
        lines.append("# No candidate may serve it now: the list is empty.")
    lines += [f"# Left out: {why}" for why in skipped]
    body = yaml.safe_dump({"model_list": deployments}, sort_keys=False,
                          default_flow_style=False, allow_unicode=True)
    return "\n".join(lines) + "\n" + body


# --- OpenRouter: the request's `provider` object ---------------------------------------------

# factorwatch provider id (built-in catalog) -> OpenRouter provider slug. The built-in
# `google` provider is Gemini on Vertex AI.
OPENROUTER_SLUGS = {"openai": "openai", "anthropic": "anthropic", "google": "google-vertex",
                    "azure-openai": "azure", "aws-bedrock": "amazon-bedrock",
                    "mistral": "mistral", "deepseek": "deepseek", "groq": "groq",
                    "together": "together"}


def render_openrouter(routing: Routing, candidates: Mapping[str, CandidateConfig]
                      ) -> dict[str, Any]:
    """`provider.order`: the slugs of the routed candidates' providers, each once, at its best
    position; `allow_fallbacks: false`, so OpenRouter never sends the request to a provider
    factorwatch left out (gated, down, throttled or never measured)."""
    slugs: list[str] = []
    skipped: list[dict[str, str]] = []
    for r in routing.order:
        cand = candidates.get(r.candidate)
        if cand is None or not cand.enabled:
            skipped.append({"candidate": r.candidate,
                            "why": "no longer enabled in factorwatch's config"})
        elif cand.provider == "openrouter":
            skipped.append({"candidate": r.candidate,
                            "why": "served through OpenRouter, which picks its provider"})
        elif cand.provider not in OPENROUTER_SLUGS:
            skipped.append({"candidate": r.candidate,
                            "why": f"provider {cand.provider!r} has no OpenRouter slug"})
        elif OPENROUTER_SLUGS[cand.provider] not in slugs:
            slugs.append(OPENROUTER_SLUGS[cand.provider])
    return {"workload": routing.workload, "version": routing.version,
            "provider": {"order": slugs, "allow_fallbacks": False},
            "not_on_openrouter": skipped}


def render(routing: Routing, candidates: Mapping[str, CandidateConfig], fmt: str
           ) -> tuple[str, str]:
    """(body, media type) of the routing in `fmt` (one of FORMATS)."""
    if fmt == "litellm":
        return render_litellm(routing, candidates), MEDIA_TYPES[fmt]
    doc = render_openrouter(routing, candidates) if fmt == "openrouter" \
        else render_json(routing, candidates)
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n", MEDIA_TYPES[fmt]


def etag(body: str) -> str:
    """A strong validator of the rendered body (RFC 9110: a quoted string)."""
    return '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'


def etag_matches(if_none_match: str | None, tag: str) -> bool:
    """If-None-Match's weak comparison: any listed tag (W/ or not) equal to ours, or `*`."""
    if not if_none_match:
        return False
    listed = [t.strip() for t in if_none_match.split(",")]
    return "*" in listed or tag in (t.removeprefix("W/") for t in listed)
