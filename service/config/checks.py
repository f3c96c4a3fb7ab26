"""Problems found in the raw mappings (file, environment, merged), not by model validation.

Secrets written into the config are removed and reported (so they are never validated,
echoed or stored). Checks that span sections or compare the entries of a list or map run
here, on the merged mapping, because validation skips a container's own checks while any
of its entries is invalid: one bad entry must never hide an independent error beside it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from probes import PROBE_OPTIONS
from service.config.alerts import unknown_references
from service.config.errors import Loc, _known, _show
from service.scoring.factors_names import BOOLEAN_FACTS, INT_FACTS, TEXT_FACTS

# Keys that would put a secret in the config, and where the secret goes instead.
SECRET_KEYS = {
    "api_key": "api_key_env or api_key_file",
    "webhook_url": "webhook_url_env or webhook_url_file",
    "secret": "secret_env or secret_file",
    "headers": "headers_env or headers_file",  # an exporter's auth token
    "password": "an *_env or *_file setting, e.g. FACTORWATCH_DATABASE_FILE for the database URL",
}


def _pop_secrets(data: Any, loc: Loc = ()) -> list[tuple[Loc, str]]:
    """Remove secret-named keys anywhere in `data`, returning one error for each."""
    found: list[tuple[Loc, str]] = []
    if isinstance(data, dict):
        for key in list(data):
            if isinstance(key, str) and key.lower() in SECRET_KEYS:
                del data[key]
                hint = SECRET_KEYS[key.lower()]
                found.append(((*loc, key), f"a secret never goes in the config; use {hint}"))
            else:
                found += _pop_secrets(data[key], (*loc, key))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            found += _pop_secrets(item, (*loc, index))
    return found


def _file_database_password(data: dict[str, Any]) -> list[tuple[Loc, str]]:
    url = data.get("database")
    if isinstance(url, str) and "://" in url and urlsplit(url).password:
        return [
            (
                ("database",),
                "the URL holds a password; set it in FACTORWATCH_DATABASE or "
                "FACTORWATCH_DATABASE_FILE instead",
            )
        ]
    return []


def _items(data: Any, key: str) -> Iterator[tuple[str, Any]]:
    section = data.get(key) if isinstance(data, dict) else None
    if isinstance(section, dict):
        yield from ((k, v) for k, v in section.items() if isinstance(v, dict))


_FACT_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    **{name: ((bool,), "true, false or null") for name in BOOLEAN_FACTS},
    **{name: ((int,), "a whole number or null") for name in INT_FACTS},
    **{name: ((str,), "a string or null") for name in TEXT_FACTS},
}


def _cross_check(data: dict[str, Any]) -> list[tuple[Loc, str]]:
    """Checks that span sections, on the merged mapping, so they run even beside other errors."""
    found: list[tuple[Loc, str]] = []
    section = data.get("providers")
    providers: dict[Any, Any] = section if isinstance(section, dict) else {}
    for cid, cand in _items(data, "candidates"):
        provider = cand.get("provider")
        if isinstance(provider, str) and provider not in providers:
            known = _known(k for k in providers if isinstance(k, str))
            found.append(
                (("candidates", cid, "provider"), f"unknown provider {provider!r} (known: {known})")
            )
    for pid, prov in _items(data, "providers"):
        facts = prov.get("facts")
        for name, fact in facts.items() if isinstance(facts, dict) else ():
            if name not in _FACT_TYPES:  # unknown names are reported by validation
                continue
            value = fact.get("value") if isinstance(fact, dict) else fact
            types, wanted = _FACT_TYPES[name]
            bad_bool = isinstance(value, bool) and bool not in types
            if value is not None and (bad_bool or not isinstance(value, types)):
                found.append(
                    (("providers", pid, "facts", name), f"expected {wanted}, got {_show(value)}")
                )
    return (found + _probe_options(data) + _price_formats(data) + _sink_names(data)
            + unknown_references(data))


def _probe_options(data: dict[str, Any]) -> list[tuple[Loc, str]]:
    """Every option set on a probe kind that does not read it."""
    found: list[tuple[Loc, str]] = []
    for cid, cand in _items(data, "candidates"):
        for kind, schedule in _items(cand, "probes"):
            if kind not in PROBE_OPTIONS:  # an unknown kind is reported by validation
                continue
            for option in sorted(o for o, v in schedule.items() if v is not None
                                 and o in _ALL_OPTIONS and o not in PROBE_OPTIONS[kind]):
                readers = sorted(k for k, names in PROBE_OPTIONS.items() if option in names)
                verb = "does" if len(readers) == 1 else "do"
                found.append((("candidates", cid, "probes"),
                              f"{kind} does not read {option} ({' and '.join(readers)} {verb})"))
    return found


_ALL_OPTIONS = frozenset().union(*PROBE_OPTIONS.values())


def _twice(values: list[Any]) -> list[Any]:
    return sorted({v for v in values if isinstance(v, str) and values.count(v) > 1})


def _price_formats(data: dict[str, Any]) -> list[tuple[Loc, str]]:
    """Two price lists of one format would fight over the same prices."""
    pricing = data.get("pricing")
    sources = pricing.get("sources") if isinstance(pricing, dict) else None
    formats = [s.get("format") for s in sources if isinstance(s, dict)] \
        if isinstance(sources, list) else []
    return [(("pricing", "sources"), f"more than one {fmt!r} source: give one source per format")
            for fmt in _twice(formats)]


def _sink_names(data: dict[str, Any]) -> list[tuple[Loc, str]]:
    """A sink's name (default: its type) labels its metrics and deliveries: one per sink."""
    alerts = data.get("alerts")
    sinks = alerts.get("sinks") if isinstance(alerts, dict) else None
    names = [s.get("name") or s.get("type") for s in sinks if isinstance(s, dict)] \
        if isinstance(sinks, list) else []
    return [(("alerts",), f"two sinks are named {name!r}: give each a distinct name")
            for name in _twice(names)]
