"""pydantic's genai-prices data: providers, their models, prices in USD per million tokens.

The file its package updates from (prices/new_data/v2/data.json in github.com/pydantic/
genai-prices) is a list of providers; the newer layout wraps it as {"providers": [...]}. Both
read the same.

Keys are "<provider id>/<model>", e.g. "anthropic/claude-sonnet-4-5-20250929": the model is
found as genai-prices finds one, by its id or its `match` rule (case-insensitive), within that
provider. A key whose first part is not a provider id is a bare model found in the first
provider whose `model_match` rule takes it ("gpt-4o" -> openai), again as genai-prices does. A
provider's `fallback_model_providers` are not followed: name the provider that lists the model.

Read per model: input_mtok and output_mtok (required), cache_read_mtok, cache_write_mtok. A
figure written {"base": ..., "tiers": [{"start": N, "price": ...}]} gives context tiers
(requests with more than N input tokens pay the tier price on every token: PriceTier). The
`price_variants` entry when {"processing": "batch"} gives the batch input and output prices
(their base price, where tiered). Other variants (service tiers flex, priority, fast; speed,
routes) have no Price figure and are not read.

Dates: `prices` may be a list of conditional prices. One has no constraint; the others apply
from a `start_date` (UTC) or during a daily `start_time`..`end_time`; the last one in the
list that applies wins, as in genai-prices. The quote is the price on `today`. A model priced
by the time of day (DeepSeek's off-peak discount) is read at the dearest price of the day: a
workload is costed without knowing when its requests are sent. PriceList.history[key] holds
the model's prices on each start date up to `today` (a variant's start dates count), oldest
first, each with `effective_at` at midnight UTC of its day; the price before the first date
is dated the day before it, the last day the file says it held.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from probes.pricing.model import BadPrice, ParseError, Price, PriceList, PriceTier, per_mtok
from probes.status.model import load_json

NAME = "genai-prices"

_TIERED = ("input_mtok", "output_mtok", "cache_read_mtok")  # the figures PriceTier carries


@dataclass(frozen=True)
class _DailyWindow:
    """A price that applies during a daily window (off-peak pricing)."""


_DAILY = _DailyWindow()
Constraint = date | _DailyWindow | None


@dataclass(frozen=True)
class _Conditional:
    constraint: Constraint
    prices: dict[str, Any]


def parse(body: bytes, keys: Collection[str] | None = None, today: date | None = None
          ) -> PriceList:
    """The prices in effect on `today` (default: the current UTC date), and their history."""
    today = today or datetime.now(UTC).date()
    try:
        doc = load_json(body)
    except ValueError as exc:
        raise ParseError(str(exc)) from None
    providers = doc.get("providers") if isinstance(doc, dict) else doc
    if not isinstance(providers, list) or not any(
            isinstance(p, dict) and isinstance(p.get("models"), list) for p in providers):
        raise ParseError("not genai-prices data: expected a list of providers with models")
    index = {p["id"]: p for p in providers
             if isinstance(p, dict) and isinstance(p.get("id"), str)}
    wanted = list(keys) if keys is not None else [
        f"{pid}/{m['id']}" for pid, p in index.items() for m in _models(p)
        if isinstance(m.get("id"), str)]
    quotes: dict[str, Price] = {}
    history: dict[str, tuple[Price, ...]] = {}
    errors: dict[str, str] = {}
    missing: set[str] = set()  # not in the list at all (model_retired), not refused
    for key in wanted:
        try:
            model = find_model(index, key)
        except LookupError as exc:
            errors[key] = str(exc.args[0])
            missing.add(key)
            continue
        try:
            quotes[key], history[key] = dated_prices(model, today)
        except BadPrice as exc:
            errors[key] = f"{key}: {exc}"
    return PriceList(NAME, quotes, errors, history, frozenset(missing))


def _models(provider: dict[str, Any]) -> list[dict[str, Any]]:
    models = provider.get("models")
    return [m for m in models if isinstance(m, dict)] if isinstance(models, list) else []


def find_model(index: dict[str, dict[str, Any]], key: str) -> dict[str, Any]:
    """The model a key names, or LookupError saying why there is none."""
    pid, sep, ref = key.partition("/")
    provider = index.get(pid) if sep else None
    if provider is None:
        ref = key
        provider = next((p for p in index.values() if matches(p.get("model_match"), ref)), None)
        if provider is None:
            raise LookupError(f"no provider for {key!r} in the genai-prices data: name it "
                              f"<provider>/<model> (providers: {', '.join(sorted(index))})")
        pid = provider["id"]
    models = _models(provider)
    found = next((m for m in models if str(m.get("id", "")).lower() == ref.lower()), None) \
        or next((m for m in models if matches(m.get("match"), ref)), None)
    if found is None:
        raise LookupError(f"no model {ref!r} of provider {pid!r} in the genai-prices data")
    return found


def matches(rule: Any, ref: str) -> bool:
    """Whether a genai-prices match rule takes `ref` (compared in lower case, as it does)."""
    if not isinstance(rule, dict) or len(rule) != 1:
        return False
    (kind, arg), = rule.items()
    text = ref.lower()
    if kind in ("or", "and") and isinstance(arg, list):
        found = (matches(clause, ref) for clause in arg)
        return any(found) if kind == "or" else all(found)
    if not isinstance(arg, str):
        return False
    if kind == "regex":
        try:
            return re.search(arg, text) is not None
        except re.error:
            return False
    arg = arg.lower()
    return {"equals": text == arg, "starts_with": text.startswith(arg),
            "ends_with": text.endswith(arg), "contains": arg in text}.get(kind, False)


def dated_prices(model: dict[str, Any], today: date) -> tuple[Price, tuple[Price, ...]]:
    """(the price on `today`, the price on each start date up to today with its date)."""
    conditionals = _conditionals(model.get("prices"))
    batch = _batch_variants(model.get("price_variants"))
    days = sorted({c.constraint for c in conditionals if isinstance(c.constraint, date)}
                  | {start for start, _ in batch if start is not None})
    days = [d for d in days if d <= today]
    if days:
        days.insert(0, days[0] - timedelta(days=1))
    history: list[Price] = []
    for day in days:
        price = replace(_price_on(conditionals, batch, day),
                        effective_at=datetime.combine(day, time(), UTC))
        if not history or history[-1].figures() != price.figures():
            history.append(price)
    return _price_on(conditionals, batch, today), tuple(history)


def _conditionals(raw: Any) -> list[_Conditional]:
    if isinstance(raw, dict):
        return [_Conditional(None, raw)]
    if not isinstance(raw, list) or not raw:
        raise BadPrice("no prices")
    out = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("prices"), dict):
            raise BadPrice("a conditional price without a `prices` object")
        out.append(_Conditional(_constraint(item.get("constraint")), item["prices"]))
    return out


def _constraint(raw: Any) -> Constraint:
    if raw is None:
        return None
    if isinstance(raw, dict) and "start_date" in raw:
        try:
            return date.fromisoformat(str(raw["start_date"]))
        except ValueError:
            raise BadPrice(f"start_date is not a date: {str(raw['start_date'])[:40]!r}") from None
    if isinstance(raw, dict) and "start_time" in raw and "end_time" in raw:
        return _DAILY
    raise BadPrice(f"unknown price constraint {str(raw)[:60]}")


def _batch_variants(raw: Any) -> list[tuple[date | None, dict[str, Any]]]:
    """The batch variants, (start date or None, prices), in the file's order."""
    out = []
    for variant in raw if isinstance(raw, list) else []:
        if not isinstance(variant, dict) or not isinstance(variant.get("prices"), dict):
            continue
        when = variant.get("when")
        if not isinstance(when, dict) or set(when) != {"processing"}:
            continue
        if when["processing"] != "batch" and not (isinstance(when["processing"], list)
                                                  and "batch" in when["processing"]):
            continue
        start = _constraint(variant.get("constraint"))
        if start is _DAILY:
            continue  # a batch price by time of day: not a figure Price has
        out.append((start if isinstance(start, date) else None, variant["prices"]))
    return out


def _price_on(conditionals: list[_Conditional], batch: list[tuple[date | None, dict[str, Any]]],
              day: date) -> Price:
    """The price on `day`: the last conditional price in force that day (a daily window is in
    force at some hour of every day), the dearest of those by input + output."""
    start = 0  # genai-prices falls back to the first when none applies
    for n in reversed(range(len(conditionals))):
        when = conditionals[n].constraint
        if when is None or (isinstance(when, date) and when <= day):
            start = n
            break
    candidates = [conditionals[start]] + [c for c in conditionals[start + 1:]
                                          if c.constraint is _DAILY]
    batch_prices = next((p for since, p in batch if since is None or since <= day), None)
    prices = [_price(c.prices, batch_prices) for c in candidates]
    return max(prices, key=lambda p: p.input_per_mtok + p.output_per_mtok)


def _price(prices: dict[str, Any], batch: dict[str, Any] | None) -> Price:
    figures = {name: _figure(prices.get(name), name) for name in
               ("input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok")}
    for name in ("input_mtok", "output_mtok"):
        if figures[name] is None:
            raise BadPrice(f"{name} is missing")
    base = {name: f[0] if f else None for name, f in figures.items()}
    batch_in = batch_out = None
    if batch is not None:  # a variant overrides the figures it names
        b_in, b_out = _figure(batch.get("input_mtok"), "batch input_mtok"), _figure(
            batch.get("output_mtok"), "batch output_mtok")
        batch_in = b_in[0] if b_in else base["input_mtok"]
        batch_out = b_out[0] if b_out else base["output_mtok"]
    assert base["input_mtok"] is not None and base["output_mtok"] is not None
    return Price(
        source=NAME, input_per_mtok=base["input_mtok"], output_per_mtok=base["output_mtok"],
        cached_input_per_mtok=base["cache_read_mtok"],
        cache_write_per_mtok=base["cache_write_mtok"],
        batch_input_per_mtok=batch_in, batch_output_per_mtok=batch_out,
        tiers=_tiers({name: figures[name] for name in _TIERED}))


Figure = tuple[float, tuple[tuple[int, float], ...]]  # (base, ((start, price), ...))


def _figure(raw: Any, name: str) -> Figure | None:
    """A price (USD per million tokens) with its tiers, or None when absent."""
    if isinstance(raw, dict):
        base = per_mtok(raw.get("base"), f"{name} base", per_token=False, required=True)
        tiers = raw.get("tiers")
        if not isinstance(tiers, list):
            raise BadPrice(f"{name} has a base but no tiers list")
        out = []
        for tier in tiers:
            start = tier.get("start") if isinstance(tier, dict) else None
            if isinstance(start, bool) or not isinstance(start, int) or start < 0:
                raise BadPrice(f"a tier of {name} has no whole-number start >= 0")
            price = per_mtok(tier.get("price"), f"{name} above {start} tokens",
                             per_token=False, required=True)
            assert price is not None
            out.append((start, price))
        assert base is not None
        return base, tuple(sorted(out))
    value = per_mtok(raw, name, per_token=False)
    return None if value is None else (value, ())


def _tiers(figures: dict[str, Figure | None]) -> tuple[PriceTier, ...]:
    """One PriceTier per tier start of any figure; a figure without a tier there keeps the
    price of its highest tier below it (or its base)."""
    starts = sorted({start for f in figures.values() if f for start, _ in f[1]})

    def at(figure: Figure | None, start: int) -> float | None:
        if figure is None:
            return None
        return next((p for s, p in reversed(figure[1]) if s <= start), figure[0])

    tiers = []
    for start in starts:
        inp, out = at(figures["input_mtok"], start), at(figures["output_mtok"], start)
        assert inp is not None and out is not None
        tiers.append(PriceTier(start, inp, out, at(figures["cache_read_mtok"], start)))
    return tuple(tiers)
