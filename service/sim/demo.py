"""`factorwatch demo`: the daemon against a simulated fleet, offline, with no keys.

Six simulated providers with different profiles (four speaking the OpenAI API, one
Anthropic's, one Gemini's; one reasoning before it answers) serve from one local server on
its own thread, probed by every probe kind (two of them by the `voice` probe, over OpenAI
Realtime and Gemini Live); the demo writes a real config file for them (the built-in
workloads included, and `voice-agent`, where a realtime model and a text pipeline are ranked
on the first audio a caller hears) into its state directory (`.factorwatch-demo/` for the
CLI), with the database and the webhook files beside it, so `factorwatch score --config
.factorwatch-demo/config.yaml` works on the demo's database too. The directory ignores
itself in git: it holds a secret. The same server serves each provider's status page
(incidents that open and close on a schedule), the price list and a webhook the demo's
alert sink sends to, so every metric the dashboards and alert rules read exists within
seconds of the start.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from service.catalog import builtin_catalog
from service.config import Settings, load_settings
from service.sim.behaviour import Outage, SimModel
from service.sim.realtime import VoiceScript
from service.sim.server import SimServer, base_url_for
from service.sim.status_pages import (
    ALERTS_PATH,
    PRICES_PATH,
    Incident,
    litellm_prices,
    status_path,
)

SOURCE = "simulated provider (factorwatch demo)"


def _facts(**values: Any) -> dict[str, Any]:
    return {name: {"value": value, "source": SOURCE} for name, value in values.items()}


# provider id -> (model name, behaviour, price USD/Mtok (input, output, cached), facts, sla)
FLEET: dict[str, tuple[str, SimModel, tuple[float, float, float | None], dict[str, Any],
                       float | None]] = {
    "sim-alpha": ("swift-mini", SimModel(ttft_seconds=0.12, inter_token_seconds=0.008,
                                         jitter=0.3, tool_accuracy=0.8, quality_rate=0.6,
                                         recall_rate=0.7,
                                         # its first audio byte comes first, but 1.2 s
                                         # of silence (1 s of wall time, sent at 1.2x
                                         # live pace) comes before the speech
                                         voice=VoiceScript(silence_seconds=1.2,
                                                           realtime_factor=1.2)),
                  (0.15, 0.6, 0.075),
                  _facts(hipaa_baa=False, soc2_type2=True, founded_year=2019,
                         openai_compatible=True, official_sdks=2, fine_tuning="supervised",
                         open_weights=False), None),
    "sim-beta": ("steady-pro", SimModel(ttft_seconds=0.35, inter_token_seconds=0.015,
                                        jitter=0.2, tool_accuracy=0.97, quality_rate=0.9,
                                        recall_rate=0.95),
                 (2.5, 10.0, 1.25),
                 _facts(hipaa_baa=True, soc2_type2=True, iso27001=True, eu_data_residency=True,
                        founded_year=2012, openai_compatible=True, official_sdks=5,
                        fine_tuning="preference", open_weights=False), 0.999),
    "sim-gamma": ("flaky-flash", SimModel(ttft_seconds=0.09, inter_token_seconds=0.006,
                                          jitter=0.3, error_rate=0.2),
                  (0.1, 0.4, None),
                  _facts(hipaa_baa=False, founded_year=2023, openai_compatible=True,
                         official_sdks=1, fine_tuning="none", open_weights=False), None),
    # a reasoning model: 8 tokens of thinking before each answer (within its max_tokens)
    "sim-delta": ("open-large", SimModel(ttft_seconds=0.9, inter_token_seconds=0.03,
                                         jitter=0.2, reasoning_tokens=8),
                  (0.6, 0.6, None),
                  _facts(hipaa_baa=False, soc2_type2=True, founded_year=2021,
                         openai_compatible=True, official_sdks=2, open_weights=True), None),
    "sim-epsilon": ("sonnet-ish", SimModel(ttft_seconds=0.5, ttft_sigma=0.3,
                                           inter_token_seconds=0.012, itl_sigma=0.2,
                                           tool_accuracy=0.98, quality_rate=0.9,
                                           recall_rate=0.98,
                                           error_rates={"error_in_stream": 0.02}),
                    (3.0, 15.0, 0.3),
                    _facts(hipaa_baa=True, soc2_type2=True, iso27001=True, founded_year=2021,
                           openai_compatible=False, official_sdks=4, open_weights=False), 0.999),
    "sim-zeta": ("flash-ish", SimModel(ttft_seconds=0.25, ttft_sigma=0.4,
                                       inter_token_seconds=0.005, tool_accuracy=0.9,
                                       quality_rate=0.75, recall_rate=0.9,
                                       error_rates={"status_429": 0.05},
                                       # down for 20 s every 5 minutes
                                       outages=(Outage(start=60, duration=20, every=300),),
                                       voice=VoiceScript(silence_seconds=0.0,
                                                         realtime_factor=1.5)),
                 (0.3, 2.5, 0.03),
                 _facts(hipaa_baa=False, soc2_type2=True, founded_year=1998,
                        openai_compatible=False, official_sdks=5, open_weights=False), 0.999),
}
# What each status page declares (every provider has one; the others stay operational):
# the flaky provider owns up soon after the start, so an alert goes out within seconds;
# sim-zeta declares its outages 5 s after they begin (60 s after the start, every 5 min).
INCIDENTS: dict[str, tuple[Incident, ...]] = {
    "sim-gamma": (Incident("Elevated error rates", impact="minor", start=2.0),),
    "sim-zeta": (Incident("API unavailable", impact="major", start=65.0, duration=15.0,
                          every=300.0),),
}
# The format each status page is served and read in (Statuspage's summary.json when not named
# here), so the demo follows every format a built-in provider's page uses.
STATUS_FORMATS = {"sim-beta": "azure-status", "sim-delta": "rootly", "sim-epsilon": "checkly",
                  "sim-zeta": "flashduty"}
# The files in the state directory: the config, the default SQLite database, and the files
# the alert sink reads its URL and signing secret from.
CONFIG_FILE, DATABASE_FILE = "config.yaml", "demo.db"
WEBHOOK_URL_FILE, WEBHOOK_SECRET_FILE = "webhook-url", "webhook-secret"
DEFAULT_LISTEN = "127.0.0.1:9464"
# The API each simulated provider speaks (openai when not named here).
APIS = {"sim-epsilon": "anthropic", "sim-zeta": "gemini"}
# Every probe kind, at demo speed.
PROBES = {"latency": {"every": "2s", "timeout": "10s"}, "uptime": {"every": "5s"},
          "tools": {"every": "15s"}, "quality": {"every": "20s", "sample": 3},
          "long_context": {"every": "30s", "context_tokens": 2000}}
# The realtime voice APIs, probed on the providers whose models also speak (the voice
# probe's timings are stored and exported; docs/architecture.md, Voice).
VOICE = {"sim-alpha", "sim-zeta"}
VOICE_PROBE = {"every": "10s", "timeout": "10s"}
# A text model spoken through STT and TTS: what they add before its first audio (configured,
# not measured: the voice-agent workload scores it as its first answer plus this).
VOICE_PIPELINES = {"sim-beta": {"overhead": "0.3s", "source": SOURCE}}
# The demo's own workload, beside the built-in ones: a phone line ranked on the first audio a
# caller hears. By TTFT sim-alpha is the fastest; by first audio its silence puts it behind
# sim-zeta, which speaks at once, and behind sim-beta's text pipeline.
VOICE_WORKLOAD = {
    "description": "Demo: a phone line answered by a realtime model or a text model behind "
                   "STT and TTS; ranked on the first audio a caller hears.",
    "volume": {"requests_per_month": 100000, "input_tokens": 800, "output_tokens": 120},
    "latency_budget": {"ttft_p99": "0.8s", "measure": "first_audio"},
    "weights": {"latency": 5, "reliability": 2, "cost": 1}}


def start_fleet(seed: int = 1) -> tuple[SimServer, str]:
    server = SimServer({model: behaviour for model, behaviour, *_ in FLEET.values()}, seed=seed,
                       status_pages={p: INCIDENTS.get(p, ()) for p in FLEET},
                       price_list=litellm_prices({model: price
                                                  for model, _, price, *_ in FLEET.values()}))
    return server, server.start_in_thread()


def demo_config(base_url: str, database: str, listen: str, *,
                webhook_url_file: str = WEBHOOK_URL_FILE,
                secret_file: str = WEBHOOK_SECRET_FILE) -> dict[str, Any]:
    origin = base_url.removesuffix("/v1")  # the fleet's server answers every API
    providers: dict[str, Any] = {}
    candidates: dict[str, Any] = {}
    for provider, (model, _, (inp, out, cached), facts, sla) in FLEET.items():
        fmt = STATUS_FORMATS.get(provider, "statuspage")
        providers[provider] = {
            "name": f"{provider} (simulated)", "facts": facts,
            "status": [{"url": origin + status_path(provider, fmt), "format": fmt,
                        "components": ["API"], "every": "5s", "stale_after": "1m"}]}
        if sla is not None:
            providers[provider]["sla"] = {"availability": sla, "source": SOURCE}
        # Read from the simulated LiteLLM list; the figures (the same) seed it until it answers.
        price: dict[str, Any] = {"source": "litellm", "input_per_mtok": inp,
                                 "output_per_mtok": out,
                                 "as_of": datetime.now(UTC).date().isoformat()}
        if cached is not None:
            price["cached_input_per_mtok"] = cached
        api = APIS.get(provider, "openai")
        candidates[f"{provider}/{model}"] = {
            "provider": provider, "api": api, "base_url": base_url_for(origin, api),
            "model": model, "price": price,
            "probes": {**PROBES, "voice": VOICE_PROBE} if provider in VOICE else PROBES}
        if provider in VOICE_PIPELINES:
            candidates[f"{provider}/{model}"]["voice_pipeline"] = VOICE_PIPELINES[provider]
    return {"builtin_catalog": False, "database": database, "listen": listen,
            "scoring": {"every": "5s", "window": "10m"}, "providers": providers,
            "candidates": candidates,
            "workloads": {**builtin_catalog()["workloads"], "voice-agent": VOICE_WORKLOAD},
            "pricing": {"sources": [{"format": "litellm", "url": f"{origin}{PRICES_PATH}",
                                     "every": "1m"}]},
            "alerts": {"delivery": {"every": "1s"}, "sinks": [{
                "type": "webhook", "name": "demo-webhook", "webhook_url_file": webhook_url_file,
                "secret_file": secret_file, "group_wait": "1s", "repeat_interval": "1m"}]}}


def demo_settings(base_url: str, state_dir: Path, *, database: str | None = None,
                  listen: str | None = None, environ: Mapping[str, str] | None = None,
                  ) -> tuple[Settings, Path]:
    """Write the demo's files into `state_dir` and load its settings; returns them and the
    config's path. FACTORWATCH_* variables apply as to every command (over the file); a
    `database` or `listen` given here beats its variable."""
    environ = os.environ if environ is None else environ
    state_dir.mkdir(mode=0o700, exist_ok=True)
    # Ignored by git wherever it is created, so `git add .` never picks up the secret.
    (state_dir / ".gitignore").write_text("# factorwatch demo state: never committed\n*\n",
                                          encoding="utf-8")
    # The sink's URL (the fleet's own webhook) and a fresh signing secret, in files beside
    # the config as a real deployment keeps them: the config names the files, never the values.
    url_file, secret_file = state_dir / WEBHOOK_URL_FILE, state_dir / WEBHOOK_SECRET_FILE
    for path, value in ((url_file, base_url.removesuffix("/v1") + ALERTS_PATH),
                        (secret_file, secrets.token_hex(16))):
        path.unlink(missing_ok=True)
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w",
                       encoding="utf-8") as f:
            f.write(value + "\n")
    # Absolute paths, so the config works from any directory.
    config = demo_config(base_url,
                         database or f"sqlite:///{(state_dir / DATABASE_FILE).resolve()}",
                         listen or DEFAULT_LISTEN, webhook_url_file=str(url_file.resolve()),
                         secret_file=str(secret_file.resolve()))
    config_path = state_dir / CONFIG_FILE
    config_path.write_text("# Written by `factorwatch demo`: the simulated fleet it runs.\n"
                           + yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    replaced = {f"FACTORWATCH_{name}{suffix}" for name, flag in (("LISTEN", listen),
                                                                  ("DATABASE", database))
                if flag for suffix in ("", "_FILE")}
    env = {k: v for k, v in environ.items() if k.upper() not in replaced}
    return load_settings(config_path, environ=env), config_path
