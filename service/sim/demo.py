"""`factorwatch demo`: the daemon against a simulated fleet, offline, with no keys.

Six simulated providers with different profiles (four speaking the OpenAI API, one
Anthropic's, one Gemini's) serve from one local server on its own thread, probed by every
probe kind; the demo writes a real config file for them (the built-in workloads included),
so `factorwatch score --config factorwatch-demo.yaml` works on the demo's database too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from service.catalog import builtin_catalog
from service.config import Settings, load_settings
from service.sim.behaviour import Outage, SimModel
from service.sim.server import SimServer, base_url_for

SOURCE = "simulated provider (factorwatch demo)"


def _facts(**values: Any) -> dict[str, Any]:
    return {name: {"value": value, "source": SOURCE} for name, value in values.items()}


# provider id -> (model name, behaviour, price USD/Mtok (input, output, cached), facts, sla)
FLEET: dict[str, tuple[str, SimModel, tuple[float, float, float | None], dict[str, Any],
                       float | None]] = {
    "sim-alpha": ("swift-mini", SimModel(ttft_seconds=0.12, inter_token_seconds=0.008,
                                         jitter=0.3, tool_accuracy=0.8, quality_rate=0.6,
                                         recall_rate=0.7),
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
    "sim-delta": ("open-large", SimModel(ttft_seconds=0.9, inter_token_seconds=0.03,
                                         jitter=0.2),
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
                                       outages=(Outage(start=60, duration=20, every=300),)),
                 (0.3, 2.5, 0.03),
                 _facts(hipaa_baa=False, soc2_type2=True, founded_year=1998,
                        openai_compatible=False, official_sdks=5, open_weights=False), 0.999),
}
# The API each simulated provider speaks (openai when not named here).
APIS = {"sim-epsilon": "anthropic", "sim-zeta": "gemini"}
# Every probe kind, at demo speed.
PROBES = {"latency": {"every": "2s", "timeout": "10s"}, "uptime": {"every": "5s"},
          "tools": {"every": "15s"}, "quality": {"every": "20s", "sample": 3},
          "long_context": {"every": "30s", "context_tokens": 2000}}


def start_fleet(seed: int = 1) -> tuple[SimServer, str]:
    server = SimServer({model: behaviour for model, behaviour, *_ in FLEET.values()}, seed=seed)
    return server, server.start_in_thread()


def demo_config(base_url: str, database: str, listen: str) -> dict[str, Any]:
    origin = base_url.removesuffix("/v1")  # the fleet's server answers every API
    providers: dict[str, Any] = {}
    candidates: dict[str, Any] = {}
    for provider, (model, _, (inp, out, cached), facts, sla) in FLEET.items():
        providers[provider] = {"name": f"{provider} (simulated)", "facts": facts}
        if sla is not None:
            providers[provider]["sla"] = {"availability": sla, "source": SOURCE}
        price: dict[str, Any] = {"input_per_mtok": inp, "output_per_mtok": out}
        if cached is not None:
            price["cached_input_per_mtok"] = cached
        api = APIS.get(provider, "openai")
        candidates[f"{provider}/{model}"] = {
            "provider": provider, "api": api, "base_url": base_url_for(origin, api),
            "model": model, "price": price, "probes": PROBES}
    return {"builtin_catalog": False, "database": database, "listen": listen,
            "scoring": {"every": "5s", "window": "10m"}, "providers": providers,
            "candidates": candidates, "workloads": builtin_catalog()["workloads"]}


def demo_settings(base_url: str, database: str, listen: str,
                  config_path: Path = Path("factorwatch-demo.yaml")) -> Settings:
    config = demo_config(base_url, database, listen)
    config_path.write_text("# Written by `factorwatch demo`: the simulated fleet it runs.\n"
                           + yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return load_settings(config_path, environ={})
