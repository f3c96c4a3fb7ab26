"""What a price-list reader returns: quotes in USD per million tokens, and what it refused.

Field names follow service/scoring/evidence.py Price and PriceTier, so the service copies
them across one to one. A quote is refused (with a reason) when a price is missing, not a
number, negative or absurd; the caller then keeps the last good price it had.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

# The dearest real list price in the 2026 LiteLLM map is $600 per million output tokens;
# past this, a price is a unit mistake (per token vs per million), not a price.
MAX_PER_MTOK = 10_000.0


class ParseError(ValueError):
    """The whole body is unusable (not JSON/YAML, or not the format's shape)."""


class BadPrice(ValueError):
    """One entry's price is unusable; the message says which figure and why."""


@dataclass(frozen=True)
class QuoteTier:
    """Prices for requests whose input is above `above_input_tokens`."""

    above_input_tokens: int
    input_per_mtok: float
    output_per_mtok: float
    cached_input_per_mtok: float | None = None


@dataclass(frozen=True)
class PriceQuote:
    input_per_mtok: float
    output_per_mtok: float
    cached_input_per_mtok: float | None = None
    cache_write_per_mtok: float | None = None
    batch_input_per_mtok: float | None = None
    batch_output_per_mtok: float | None = None
    tiers: tuple[QuoteTier, ...] = ()


@dataclass(frozen=True)
class PriceList:
    format: str
    quotes: dict[str, PriceQuote]
    errors: dict[str, str] = field(default_factory=dict)  # key -> why it was refused


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
