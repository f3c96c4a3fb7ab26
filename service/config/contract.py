"""A provider's SLA contract terms (`providers.<id>.sla.contract`): how the provider itself
defines its monthly availability, and the service-credit tiers. docs/sla.md explains each key;
service/sla/contract.py computes a month under them.
"""

from __future__ import annotations

from datetime import date
from itertools import pairwise
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from service.config.fields import Availability, NonNegative, PositiveDuration, Ratio

# An interval longer than a day cannot measure a calendar month in whole intervals; a
# "window" of a month or more is the month itself, which the contract already is.
MAX_INTERVAL = 86400.0
EXCLUSIONS = ("rate_limited", "maintenance")


def _pct(value: float) -> str:
    return f"{value * 100:g}%"


class CreditTier(BaseModel):
    """Monthly availability in [at_least, below) earns `credit` x the month's spend."""

    model_config = ConfigDict(extra="forbid")

    below: Availability
    at_least: Ratio = 0.0
    credit: Annotated[float, Field(gt=0, le=1)]

    @model_validator(mode="after")
    def _a_range(self) -> CreditTier:
        if self.at_least >= self.below:
            raise ValueError(f"at_least ({_pct(self.at_least)}) must be below `below` "
                             f"({_pct(self.below)})")
        return self


class ContractConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str | None = None  # where the terms were read (a URL, or "our contract")
    as_of: date | None = None  # when they were read
    # The provider's measurement interval: an interval is down when its error rate is above
    # `down_error_rate` (0: any failed probe makes it down).
    interval: PositiveDuration = 60.0
    down_error_rate: Annotated[float, Field(ge=0, lt=1)] = 0.0
    min_probes: Annotated[int, Field(ge=1)] = 1  # counted probes to judge an interval
    exclude: list[Literal["rate_limited", "maintenance"]] = ["rate_limited"]
    tiers: Annotated[list[CreditTier], Field(min_length=1)]
    # The month's spend the credit is a share of; unset: volume x price (docs/sla.md).
    monthly_spend_usd: NonNegative | None = None

    @field_validator("interval")
    @classmethod
    def _within_a_day(cls, seconds: float) -> float:
        if seconds > MAX_INTERVAL:
            longer = "longer than a month" if seconds > 28 * 86400 else "longer than a day"
            raise ValueError(f"{longer}: a contract's interval must be at most 1d (the month "
                             "is measured in whole intervals)")
        if seconds < 60 or seconds != int(seconds) or MAX_INTERVAL % seconds:
            raise ValueError("must be whole minutes that divide a day (1m, 5m, 15m, 1h, ...)")
        return seconds

    @field_validator("tiers")
    @classmethod
    def _no_overlap(cls, tiers: list[CreditTier]) -> list[CreditTier]:
        order = sorted(range(len(tiers)), key=lambda i: -tiers[i].below)
        for upper, lower in pairwise(order):
            a, b = tiers[upper], tiers[lower]
            if b.below > a.at_least:
                raise ValueError(
                    f"tier {lower} [{_pct(b.at_least)}, {_pct(b.below)}) overlaps tier {upper} "
                    f"[{_pct(a.at_least)}, {_pct(a.below)})")
            if b.credit < a.credit:
                raise ValueError(
                    f"tier {lower} credits {_pct(b.credit)} for lower availability than tier "
                    f"{upper} ({_pct(a.credit)}): more downtime must never earn less")
        return tiers

    @field_validator("exclude")
    @classmethod
    def _once(cls, names: list[str]) -> list[str]:
        if len(set(names)) != len(names):
            raise ValueError("names an exclusion twice")
        return names


def tiers_above_commitment(committed: float, contract: ContractConfig) -> str | None:
    """A tier that credits availability the provider committed to is a typo: say which."""
    for i, tier in enumerate(contract.tiers):
        if tier.below > committed:
            return (f"contract.tiers.{i}.below ({_pct(tier.below)}) is above the committed "
                    f"availability ({_pct(committed)})")
    return None
