"""The bundled LiteLLM price history, so a fresh install has a pricing trajectory on day one.

litellm_price_history.csv (41 rows, 2025-02-06 to 2026-03-12, 25 models) was derived from
the git history of GitHub RoCry/llm-api-price, whose scheduled job mirrors LiteLLM's
model_prices_and_context_window.json: one row the first time a model appears, then one each
time its input, output or cache-read price changes. `date` is when the mirror noticed the
change (its commit's author date), not when LiteLLM made it; removals are not recorded; an
empty field means the key was absent. Source and caveats: tests/fixtures/real/SOURCES.md,
section "litellm_price_history.csv".
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources

from probes.pricing import BadPrice, litellm
from probes.pricing.model import Price, per_mtok

log = logging.getLogger(__name__)

HISTORY_FILE = "litellm_price_history.csv"


@dataclass(frozen=True)
class HistoryPoint:
    key: str  # the LiteLLM key
    price: Price  # from litellm, with its effective_at


def parse_history(text: str) -> list[HistoryPoint]:
    """Rows of the CSV as points; a row with a bad date or price is skipped and logged."""
    points = []
    for n, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        try:
            at = datetime.fromisoformat(row["date"]).astimezone(UTC)
            inp = per_mtok(row["input_cost_per_token"], "input", per_token=True, required=True)
            out = per_mtok(row["output_cost_per_token"], "output", per_token=True,
                           required=True)
            cached = per_mtok(row["cache_read_input_token_cost"], "cache read", per_token=True)
        except (BadPrice, KeyError, TypeError, ValueError) as exc:
            log.warning("%s line %d skipped: %s", HISTORY_FILE, n, exc)
            continue
        assert inp is not None and out is not None
        points.append(HistoryPoint(row["model"], Price(inp, out, cached, litellm.NAME, at)))
    return points


@cache
def bundled_history() -> tuple[HistoryPoint, ...]:
    text = resources.files("service.catalog").joinpath(HISTORY_FILE).read_text(encoding="utf-8")
    return tuple(parse_history(text))
