"""Price lists -> each candidate's price, recorded when it changes.

Which price a candidate has (docs/config.md, "Which source prices a candidate"): the first
of
  1. an entry for the candidate's id in the negotiated YAML (it overrides every other source);
  2. its `price.source`: `static` (the config's figures), or the entry `price.key` (default:
     its model) of the list of that format;
  3. when that list was read and has no usable entry: the lists of `price.fallback`, in the
     order written, each at the entry named there.
A candidate none of them prices keeps its last good price. A list not read yet decides
nothing (a fallback list that no `pricing.sources` entry polls is passed over), so the
order in which sources answer does not matter: every poll re-resolves all candidates with
the latest list of each format. A list that dates its prices (genai-prices) also seeds the
past points of the candidates it is the `price.source` of, each time it is read.
An entry a candidate reads that was in its list and is missing now saves `model_retired`
(service/discovery/listings.py).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from datetime import UTC, datetime, time

from sqlalchemy.engine import Engine
from sqlmodel import Session

from probes.pricing import READERS, Price, PriceList
from service.config import CandidateConfig
from service.discovery.listings import Watched, note_price_list
from service.prices.bundled import bundled_history
from service.prices.points import Quoted, record_prices, seed_points
from service.watch.metrics import SourceMetrics
from service.watch.sources import ClientGetter, SourcePoller

log = logging.getLogger(__name__)

NEGOTIATED = "yaml"


def price_key(cand: CandidateConfig) -> str:
    return (cand.price.key if cand.price and cand.price.key else None) or cand.model


def list_key(cand: CandidateConfig, fmt: str) -> str:
    """The entry of the `fmt` list that prices `cand`: its `price.key` in its source's list,
    the one `price.fallback` names for `fmt`, else its model."""
    cfg = cand.price
    if cfg is not None and fmt == cfg.source:
        return price_key(cand)
    return (cfg.fallback.get(fmt) if cfg is not None else None) or cand.model


def chain(cand: CandidateConfig) -> list[tuple[str, str]]:
    """The lists that may price `cand`, in precedence order after the negotiated YAML, with
    the entry read in each: (format, key)."""
    cfg = cand.price
    if cfg is None or cfg.source == "static":
        return []
    return [(cfg.source, price_key(cand))] + [(fmt, key) for fmt, key in cfg.fallback.items()
                                               if fmt != cfg.source]


def first_usable(cand: CandidateConfig, lists: Mapping[str, PriceList], polled: Collection[str]
                 ) -> tuple[tuple[Price, str] | None, list[str]]:
    """The first list of `chain(cand)` with a usable entry: (its price, the key), or None;
    and why each list before it had none."""
    reasons: list[str] = []
    for n, (fmt, key) in enumerate(chain(cand)):
        found = lists.get(fmt)
        if found is None:
            if n == 0 or fmt in polled:
                break  # not read yet: it decides when it is
            continue  # no source polls it
        if key in found.quotes:
            return (found.quotes[key], key), reasons
        reasons.append(found.errors.get(key, f"no entry {key!r} in the {fmt} list"))
    return None, reasons


def resolve(candidates: Mapping[str, CandidateConfig], lists: Mapping[str, PriceList],
            polled: Collection[str] = ()) -> tuple[list[Quoted], dict[str, str]]:
    """Each candidate's price from the lists read so far; and why some have none now.

    `polled`: the formats some source polls; a fallback list of another format is never
    read, so it is passed over rather than waited for."""
    negotiated = lists.get(NEGOTIATED)
    quotes: list[Quoted] = []
    errors: dict[str, str] = {}
    for cid, cand in sorted(candidates.items()):
        if not cand.enabled:
            continue
        if negotiated is not None and cid in negotiated.errors:
            errors[cid] = negotiated.errors[cid]
            continue
        if negotiated is not None and cid in negotiated.quotes:
            quotes.append(Quoted(cid, negotiated.quotes[cid], cid))
            continue
        cfg = cand.price
        if cfg is None:
            continue
        if cfg.source == "static":
            static = cfg.as_price()
            if static is not None:
                quotes.append(Quoted(cid, static, cfg.key))
            continue
        found, reasons = first_usable(cand, lists, polled)
        if found is not None:
            quotes.append(Quoted(cid, *found))
        elif reasons:
            errors[cid] = "; ".join(reasons)
    return quotes, errors


def seeds(candidates: Mapping[str, CandidateConfig], now: datetime
          ) -> tuple[list[tuple[str, Price]], list[tuple[str, Price]]]:
    """(the dated figures of list-priced candidates, the bundled history of LiteLLM ones)."""
    figures, history = [], []
    by_key: dict[str, list[str]] = {}
    for cid, cand in sorted(candidates.items()):
        cfg = cand.price
        if cfg is None or cfg.source == "static":
            continue
        dated = cfg.as_price(datetime.combine(cfg.as_of, time(), UTC) if cfg.as_of else now)
        if dated is not None:
            figures.append((cid, dated))
        if cfg.source == "litellm":
            by_key.setdefault(price_key(cand), []).append(cid)
    for point in bundled_history():
        for cid in by_key.get(point.key, []):
            history.append((cid, point.price))
    return figures, history


class PriceBook:
    """The latest list of each format, shared by the price pollers; records what changes."""

    def __init__(self, candidates: Mapping[str, CandidateConfig], engine: Engine,
                 metrics: SourceMetrics, polled: Collection[str] = ()) -> None:
        self.candidates = candidates
        self.polled = frozenset(polled)  # the formats of pricing.sources
        self.lists: dict[str, PriceList] = {}
        self._engine = engine
        self._metrics = metrics
        self._told: dict[str, str] = {}  # candidate -> the error last logged for it

    def keys_for(self, fmt: str) -> list[str] | None:
        if fmt == NEGOTIATED:
            return None  # overrides are keyed by candidate id: read every entry
        return sorted({key for c in self.candidates.values() for f, key in chain(c) if f == fmt})

    def seed(self, session: Session, now: datetime) -> int:
        figures, history = seeds(self.candidates, now)
        return (seed_points(session, figures, only_if_unpriced=True)
                + seed_points(session, history))

    def seed_history(self, session: Session, prices: PriceList, now: datetime) -> int:
        """The past prices a list dates, as points of the candidates it is the source of
        (each point once, without events: service/prices/points.py seed_points)."""
        points = [(cid, past) for cid, cand in sorted(self.candidates.items())
                  if cand.price is not None and cand.price.source == prices.format
                  for past in prices.history.get(price_key(cand), ())
                  if past.effective_at is not None and past.effective_at <= now]
        return seed_points(session, points) if points else 0

    def apply(self, session: Session, now: datetime) -> list[str]:
        quotes, errors = resolve(self.candidates, self.lists, self.polled)
        for cid, error in errors.items():
            if self._told.get(cid) != error:
                log.warning("price of %s not updated, keeping the last good one: %s", cid, error)
        self._told = errors
        recorded = record_prices(session, quotes, now)
        for source in recorded.sources:
            self._metrics.price_points.labels(source).inc()
        return recorded.changed

    def update(self, prices: PriceList, now: datetime) -> list[str]:
        self.lists[prices.format] = prices
        with Session(self._engine) as session, session.begin():
            self.seed_history(session, prices, now)  # first: the current price may be its last
            changed = self.apply(session, now)
            if prices.format != NEGOTIATED:  # keyed by candidate id: nothing retires there
                present = set(prices.quotes) | (set(prices.errors) - prices.missing)
                note_price_list(session, prices.format, present, prices.missing,
                                self.readers_of(prices.format), now)
            return changed

    def readers_of(self, fmt: str) -> dict[str, list[Watched]]:
        """Each entry of the list `fmt` the enabled candidates read, with who reads it."""
        readers: dict[str, list[Watched]] = {}
        for cid, cand in sorted(self.candidates.items()):
            if cand.enabled and cand.price is not None and cand.price.source == fmt:
                readers.setdefault(price_key(cand), []).append(
                    Watched(cid, cand.provider, cand.model))
        return readers


class PricePoller(SourcePoller[PriceList]):
    kind = "pricing"
    max_bytes = 32 * 1024 * 1024  # LiteLLM's map is 3.5 MB and growing
    timeout = 60.0

    def __init__(self, fmt: str, url: str, book: PriceBook, client: ClientGetter,
                 metrics: SourceMetrics) -> None:
        super().__init__(url, client, metrics)
        self.format = fmt
        self.book = book

    def read(self, body: bytes) -> PriceList:
        return READERS[self.format](body, self.book.keys_for(self.format))

    def store(self, result: PriceList, now: datetime) -> None:
        self.rejected(len(result.errors))
        changed = self.book.update(result, now)
        if changed:
            log.info("price list %s changed %d prices", self.url, len(changed),
                     extra={"candidates": changed})
