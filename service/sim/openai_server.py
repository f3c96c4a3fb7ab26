"""The simulated server under its first name: it began as OpenAI-only and now serves the
whole fleet (service.sim.server). Kept so `from service.sim.openai_server import SimServer,
SimModel, Fault` goes on working."""

from __future__ import annotations

from service.sim.behaviour import Fault, Outage, SimModel, SimRecord
from service.sim.server import SimServer

__all__ = ["Fault", "Outage", "SimModel", "SimRecord", "SimServer"]
