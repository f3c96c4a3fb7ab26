"""The price value type, and what a price-list reader returns.

`Price` (with its `PriceTier`s) is the one price type: price-list readers make it, the
store records it (service/prices/rows.py converts to and from the table row), scoring reads
it (service/scoring/evidence.py re-exports it), the config's figures become one
(service/config/models.py PriceConfig.as_price) and the API shows one (service/api/schemas.py
PriceOut.of). Those boundaries use its field names, so a new figure is added here, to the
table (with a migration) and to the API schema (and to the config if people may set it);
the conversions go by name. tests/test_price_value.py checks that nothing was forgotten.

A quote is refused (with a reason) when a price is missing, not a number, negative or
absurd; the caller then keeps the last good price it had.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any

# The dearest real list price in the 2026 LiteLLM map is $600 per million output tokens;
# past this, a price is a unit mistake (per token vs per million), not a price.
MAX_PER_MTOK = 10_000.0


class ParseError(ValueError):
    """The whole body is unusable (not JSON/YAML, or not the format's shape)."""


class BadPrice(ValueError):
    """One entry's price is unusable; the message says which figure and why."""


@dataclass(frozen=True)
class PriceTier:
    """Prices that apply when a request's input is above `above_input_tokens`."""

    above_input_tokens: int
    input_per_mtok: float
    output_per_mtok: float
    cached_input_per_mtok: float | None = None


@dataclass(frozen=True)
class Price:
    """USD per million tokens, from `source`, in effect from `effective_at`."""

    input_per_mtok: float
    output_per_mtok: float
    cached_input_per_mtok: float | None = None
    source: str = "static"  # static, or the price-list format it came from
    effective_at: datetime | None = None  # None: from when it is recorded
    cache_write_per_mtok: float | None = None
    batch_input_per_mtok: float | None = None
    batch_output_per_mtok: float | None = None
    # Audio tokens (realtime voice models: the voice probe's usage); None: not priced apart.
    audio_input_per_mtok: float | None = None
    audio_output_per_mtok: float | None = None
    tiers: tuple[PriceTier, ...] = ()

    def figures(self) -> dict[str, Any]:
        """The figures by name, tiers as dicts: what a table row, an event and the API hold."""
        out: dict[str, Any] = {name: getattr(self, name) for name in FIGURES}
        out["tiers"] = [asdict(tier) for tier in self.tiers]
        return out

    @classmethod
    def from_figures(cls, figures: Mapping[str, Any], source: str = "static",
                     effective_at: datetime | None = None) -> Price:
        """A Price from figures by name (as `figures()` gives them); other names are ignored,
        missing optional figures are None."""
        tiers = tuple(PriceTier(**{f.name: tier[f.name] for f in fields(PriceTier)
                                   if tier.get(f.name) is not None})
                      for tier in figures.get("tiers") or ())
        return cls(**{name: figures[name] for name in FIGURES if name in figures},
                   source=source, effective_at=effective_at, tiers=tiers)


# The figures of a Price: every field but where it came from, when, and its tiers.
FIGURES: tuple[str, ...] = tuple(f.name for f in fields(Price)
                                 if f.name not in ("source", "effective_at", "tiers"))


@dataclass(frozen=True)
class PriceList:
    format: str
    quotes: dict[str, Price]  # each with `source` = format
    errors: dict[str, str] = field(default_factory=dict)  # key -> why it was refused
    # key -> its past prices, oldest first, each with its effective_at (lists that date them)
    history: dict[str, tuple[Price, ...]] = field(default_factory=dict)
    # The keys asked for that the list has no entry for (each is in `errors` too): an entry
    # that left the list, not one it has but refused.
    missing: frozenset[str] = frozenset()


def per_mtok(value: Any, what: str, *, per_token: bool, required: bool = False
             ) -> float | None:
    """A price as USD per million tokens, or BadPrice saying what is wrong with it."""
    if value is None or value == "":
        if required:
            raise BadPrice(f"{what} is missing")
        return None
    if isinstance(value, bool):
        raise BadPrice(f"{what} is not a number: {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BadPrice(f"{what} is not a number: {str(value)[:40]!r}") from None
    if not math.isfinite(number):
        raise BadPrice(f"{what} is not a finite number: {value!r}")
    if number < 0:
        raise BadPrice(f"{what} is negative: {value!r}")
    result = number * 1e6 if per_token else number
    if result > MAX_PER_MTOK:
        raise BadPrice(f"{what} is absurd: ${result:,.0f} per million tokens "
                       f"(over ${MAX_PER_MTOK:,.0f}; a unit mistake?)")
    return round(result, 9)  # 1.5e-07 * 1e6 is 0.15000000000000002
