"""What each price source says a candidate costs, and where they disagree (`factorwatch
prices`): pure, over price lists already read.

Per candidate: its static figures (when `price.source` is static), then every configured
list at the entry it would read there (service/watch/pricing.py list_key; the negotiated
YAML at the candidate's id, shown only when it has that entry). The price in use is the one
the precedence picks from these lists (pricing.resolve); each other price is compared with
it figure by figure, where both have the figure. Tiers are not compared.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from probes.pricing import Price, PriceList
from service.config import CandidateConfig
from service.watch.pricing import NEGOTIATED, list_key, resolve

COMPARED = ("input_per_mtok", "output_per_mtok", "cached_input_per_mtok",
            "cache_write_per_mtok", "batch_input_per_mtok", "batch_output_per_mtok")
TOLERANCE = 1e-9  # USD per million tokens: rounding, not a price


@dataclass(frozen=True)
class Difference:
    figure: str  # a Price figure, e.g. input_per_mtok
    value: float  # what this source says
    in_use: float  # what the price in use says

    @property
    def absolute(self) -> float:
        return round(self.value - self.in_use, 9)

    @property
    def percent(self) -> float | None:
        return None if self.in_use == 0 else round(100 * (self.value - self.in_use)
                                                   / self.in_use, 2)


@dataclass(frozen=True)
class SourcePrice:
    source: str  # a price-list format, or static
    key: str | None  # the entry read in that list
    price: Price | None
    error: str | None = None  # why it gives no price
    in_use: bool = False
    differences: tuple[Difference, ...] = ()


@dataclass(frozen=True)
class Comparison:
    candidate: str
    sources: tuple[SourcePrice, ...]

    @property
    def in_use(self) -> SourcePrice | None:
        return next((s for s in self.sources if s.in_use), None)

    @property
    def disagree(self) -> bool:
        return any(s.differences for s in self.sources)


def differences(price: Price, in_use: Price) -> tuple[Difference, ...]:
    out = []
    for figure in COMPARED:
        value, reference = getattr(price, figure), getattr(in_use, figure)
        if value is not None and reference is not None and abs(value - reference) > TOLERANCE:
            out.append(Difference(figure, value, reference))
    return tuple(out)


def compare(candidates: Mapping[str, CandidateConfig], lists: Mapping[str, PriceList],
            formats: Sequence[str], unread: Mapping[str, str]) -> list[Comparison]:
    """Each enabled candidate's price from each source. `formats`: the configured lists, in
    the config's order; `unread`: the ones that could not be read, with why."""
    in_use, _ = resolve(candidates, lists, formats)
    chosen = {q.candidate_id: q for q in in_use}
    out = []
    for cid, cand in sorted(candidates.items()):
        if not cand.enabled:
            continue
        rows = _rows(cid, cand, lists, formats, unread)
        quoted = chosen.get(cid)
        pick = next((n for n, row in enumerate(rows) if quoted is not None
                     and row.source == quoted.price.source and row.key == quoted.key), None)
        if pick is not None:
            reference = rows[pick].price
            assert reference is not None
            rows = [SourcePrice(r.source, r.key, r.price, r.error, n == pick,
                                differences(r.price, reference) if r.price and n != pick
                                else ()) for n, r in enumerate(rows)]
        out.append(Comparison(cid, tuple(rows)))
    return out


def _rows(cid: str, cand: CandidateConfig, lists: Mapping[str, PriceList],
          formats: Sequence[str], unread: Mapping[str, str]) -> list[SourcePrice]:
    rows = []
    if cand.price is not None and cand.price.source == "static":
        rows.append(SourcePrice("static", cand.price.key, cand.price.as_price()))
    for fmt in formats:
        found = lists.get(fmt)
        if fmt == NEGOTIATED:  # a sparse file of overrides, by candidate id
            if found is not None and (cid in found.quotes or cid in found.errors):
                rows.append(SourcePrice(fmt, cid, found.quotes.get(cid), found.errors.get(cid)))
            continue
        key = list_key(cand, fmt)
        if found is None:
            rows.append(SourcePrice(fmt, key, None, f"not read: {unread.get(fmt, 'no list')}"))
        elif key in found.quotes:
            rows.append(SourcePrice(fmt, key, found.quotes[key]))
        else:
            rows.append(SourcePrice(fmt, key, None, found.errors.get(
                key, f"no entry {key!r} in the {fmt} list")))
    return rows
