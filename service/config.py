"""Settings: a YAML file + FACTORWATCH_* environment, with the built-in catalog underneath.

Precedence, highest first: environment > file > built-in catalog > model defaults. Maps keyed
by id are deep-merged (a user overrides one catalog entry by naming it; `null` removes a
key), lists are replaced. `FACTORWATCH_X_FILE=/path` reads X's value from a file.

load_settings() returns a fully valid Settings or raises ConfigError with every error, each
`<dotted.location>: <message>` (or `<ENV_VAR>: <message>` when the environment set it), so a
malformed config never starts anything.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)
from pydantic_settings.sources.utils import parse_env_vars

from probes import PROBES
from probes.dialects import DIALECTS
from service.catalog import builtin_catalog
from service.durations import parse_duration
from service.scoring.factors_names import (
    BOOLEAN_FACTS,
    FACT_NAMES,
    FACTORS,
    INT_FACTS,
    TEXT_FACTS,
)

log = logging.getLogger(__name__)

ENV_PREFIX = "FACTORWATCH_"
# FACTORWATCH_* variables that are not settings (the CLI reads the config path from it).
RESERVED_ENV = frozenset({"FACTORWATCH_CONFIG"})
# Keys that would put a secret in the config, and where the secret goes instead.
SECRET_KEYS = {
    "api_key": "api_key_env or api_key_file",
    "webhook_url": "webhook_url_env or webhook_url_file",
    "password": "an *_env or *_file setting, e.g. FACTORWATCH_DATABASE_FILE for the database URL",
}
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

Loc = tuple[str | int, ...]


class ConfigError(Exception):
    """Every problem found in a config, one `location: message` line each."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("\n".join(errors))


# --- field types -------------------------------------------------------------------------

Duration = Annotated[float, BeforeValidator(parse_duration)]  # seconds
PositiveDuration = Annotated[float, BeforeValidator(parse_duration), Field(gt=0)]
Ratio = Annotated[float, Field(ge=0, le=1)]
NonNegative = Annotated[float, Field(ge=0)]


def _availability(value: float) -> float:
    if not 0 < value <= 1:
        raise ValueError("must be a ratio in (0, 1]: 0.999 means 99.9%")
    return value


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"expected an http(s) URL, got {value!r}")
    return value.rstrip("/")  # dialects append paths such as /chat/completions


def _env_name(value: str) -> str:
    # Refuse anything that looks like the secret itself, and do not echo it back.
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        raise ValueError("must name an environment variable (letters, digits, _)")
    return value


def _known(names: Iterable[str]) -> str:
    return ", ".join(sorted(names)) or "none"


def _dialect(value: str) -> str:
    if value not in DIALECTS:
        raise ValueError(f"unknown api {value!r} (known: {_known(DIALECTS)})")
    return value


def _probe_kind(value: str) -> str:
    if value not in PROBES:
        raise ValueError(f"unknown probe kind {value!r} (known: {_known(PROBES)})")
    return value


def _factor(value: str) -> str:
    if value not in FACTORS:
        raise ValueError(f"unknown factor {value!r}")
    return value


def _fact_name(value: str) -> str:
    if value not in FACT_NAMES:
        raise ValueError(f"unknown fact {value!r} (known: {_known(FACT_NAMES)})")
    return value


def _gate_fact(value: str) -> str:
    if value not in BOOLEAN_FACTS:
        if value in FACT_NAMES:
            raise ValueError(f"fact {value!r} is not yes/no, so it cannot be required")
        raise ValueError(f"unknown fact {value!r} (known: {_known(BOOLEAN_FACTS)})")
    return value


Availability = Annotated[float, AfterValidator(_availability)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]
EnvName = Annotated[str, AfterValidator(_env_name)]
DialectName = Annotated[str, AfterValidator(_dialect)]
ProbeKind = Annotated[str, AfterValidator(_probe_kind)]
FactorName = Annotated[str, AfterValidator(_factor)]
FactName = Annotated[str, AfterValidator(_fact_name)]
GateFact = Annotated[str, AfterValidator(_gate_fact)]
NonEmpty = Annotated[str, Field(min_length=1)]


def _resolve_secret(
    env_name: str | None, file_path: str | None, environ: Mapping[str, str] | None
) -> str | None:
    """Read a secret from the named variable or file; the value is never logged."""
    if env_name:
        return (os.environ if environ is None else environ).get(env_name) or None
    if file_path:
        try:
            return Path(file_path).read_text(encoding="utf-8").rstrip("\r\n") or None
        except OSError as exc:
            log.warning("cannot read secret file %s: %s", file_path, exc.strerror)
    return None


# --- the model ---------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Fact(_Strict):
    value: bool | int | float | str | None = None
    source: str | None = None
    as_of: date | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        # In YAML a fact may be a bare scalar: `hipaa_baa: true` means {value: true}.
        return data if isinstance(data, dict) else {"value": data}

    @field_validator("value", mode="before")
    @classmethod
    def _scalar(cls, value: Any) -> Any:
        if isinstance(value, date):
            return value.isoformat()
        if value is not None and not isinstance(value, bool | int | float | str):
            raise ValueError("a fact value must be true, false, a number, a string or null")
        return value


class StatusSource(_Strict):
    url: HttpUrl
    components: list[str] = []
    format: str | None = None


class SlaConfig(_Strict):
    availability: Availability
    source: str | None = None


class ProviderConfig(_Strict):
    name: str | None = None
    status: list[StatusSource] = []
    sla: SlaConfig | None = None
    facts: dict[FactName, Fact] = {}


class ProbeSchedule(_Strict):
    every: PositiveDuration
    timeout: PositiveDuration = 30.0
    max_tokens: Annotated[int, Field(ge=1)] = 16


class PriceConfig(_Strict):
    source: Literal["static", "litellm", "openrouter", "yaml"] = "static"
    key: str | None = None  # the entry in the price list; defaults to the candidate's model
    input_per_mtok: NonNegative | None = None  # USD per million tokens
    output_per_mtok: NonNegative | None = None
    cached_input_per_mtok: NonNegative | None = None
    as_of: date | None = None

    @model_validator(mode="after")
    def _static_needs_prices(self) -> PriceConfig:
        if self.source == "static" and (
            self.input_per_mtok is None or self.output_per_mtok is None
        ):
            raise ValueError("a static price needs input_per_mtok and output_per_mtok")
        return self


class CandidateConfig(_Strict):
    provider: str
    api: DialectName
    base_url: HttpUrl
    model: NonEmpty
    api_key_env: EnvName | None = None
    api_key_file: str | None = None
    price: PriceConfig | None = None
    probes: dict[ProbeKind, ProbeSchedule] = {}
    enabled: bool = True

    @model_validator(mode="after")
    def _one_key_source(self) -> CandidateConfig:
        if self.api_key_env and self.api_key_file:
            raise ValueError("set only one of api_key_env and api_key_file")
        return self

    def resolve_api_key(self, environ: Mapping[str, str] | None = None) -> str | None:
        return _resolve_secret(self.api_key_env, self.api_key_file, environ)


class Volume(_Strict):
    requests_per_month: NonNegative
    input_tokens: NonNegative
    output_tokens: NonNegative
    cached_input_share: Ratio = 0.0
    batch_share: Ratio = 0.0


class LatencyBudget(_Strict):
    ttft_p99: PositiveDuration | None = None


class Gates(_Strict):
    require: list[GateFact] = []
    min_availability: Availability | None = None
    max_ttft_p99: PositiveDuration | None = None
    max_monthly_cost_usd: NonNegative | None = None


class WorkloadConfig(_Strict):
    description: str = ""
    volume: Volume
    latency_budget: LatencyBudget = LatencyBudget()
    weights: dict[FactorName, NonNegative]
    gates: Gates = Gates()

    @field_validator("weights")
    @classmethod
    def _some_weight(cls, weights: dict[str, float]) -> dict[str, float]:
        if not any(weights.values()):
            raise ValueError("all weights are zero; give at least one factor a positive weight")
        return weights


class FlipConfig(_Strict):
    margin: NonNegative = 0.1
    confirmations: Annotated[int, Field(ge=1)] = 3


class SinkConfig(_Strict):
    type: NonEmpty
    webhook_url_env: EnvName | None = None
    webhook_url_file: str | None = None
    events: list[str] = []

    @model_validator(mode="after")
    def _one_url_source(self) -> SinkConfig:
        if self.webhook_url_env and self.webhook_url_file:
            raise ValueError("set only one of webhook_url_env and webhook_url_file")
        return self

    def resolve_webhook_url(self, environ: Mapping[str, str] | None = None) -> str | None:
        return _resolve_secret(self.webhook_url_env, self.webhook_url_file, environ)


class AlertsConfig(_Strict):
    flip: FlipConfig = FlipConfig()
    sinks: list[SinkConfig] = []


class PricingSource(_Strict):
    format: NonEmpty
    url: NonEmpty  # http(s) URL or a local path (the yaml format)
    every: PositiveDuration = 21600.0


class PricingConfig(_Strict):
    sources: list[PricingSource] = []


class ScoringConfig(_Strict):
    every: PositiveDuration = 60.0
    window: PositiveDuration = 3600.0


class Settings(BaseSettings):
    """Build it with load_settings(), which layers catalog, file and environment."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", case_sensitive=False
    )

    database: str = "sqlite:///factorwatch.db"
    listen: str = "127.0.0.1:9464"
    log_level: str = "INFO"
    region: str = "local"
    builtin_catalog: bool = True
    providers: dict[str, ProviderConfig] = {}
    candidates: dict[str, CandidateConfig] = {}
    pricing: PricingConfig = PricingConfig()
    workloads: dict[str, WorkloadConfig] = {}
    alerts: AlertsConfig = AlertsConfig()
    scoring: ScoringConfig = ScoringConfig()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # load_settings() layers catalog, file and the given environment itself; validating
        # must not read os.environ behind its back.
        return (init_settings,)

    @field_validator("database")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if "://" not in value:  # never echo it: it may hold a password
            raise ValueError("expected a database URL such as sqlite:///factorwatch.db")
        return value

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or int(port) > 65535:
            raise ValueError(f"expected host:port such as 127.0.0.1:9464, got {value!r}")
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        if value.upper() not in _LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(_LOG_LEVELS)}")
        return value.upper()

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        # It is a metric label: keep it short and plain.
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", value):
            raise ValueError("must be 1-64 letters, digits, '.', '_' or '-'")
        return value


# --- reading the file ----------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys instead of silently keeping the last one."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str | int | float | bool):  # others fail in the base class
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r}", key_node.start_mark
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read: {exc}"]) from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError([f"{path}: invalid YAML{where}: {exc.problem}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: invalid YAML: {exc}"]) from None
    if data is None:  # an empty file is an empty config
        return {}
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: top level must be a mapping, got {_kind(data)}"])
    return data


# --- reading the environment -------------------------------------------------------------


class _EnvironSource(EnvSettingsSource):
    """pydantic-settings' env source, reading a given mapping instead of os.environ."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ  # read by _load_env_vars during super().__init__
        super().__init__(Settings)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(
            self._environ, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str
        )


# api_key_file and webhook_url_file are settings, not the `X_FILE` secret form of X.
_SETTINGS_ENDING_IN_FILE = frozenset({"api_key_file", "webhook_url_file"})


def _read_env(environ: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """Return (nested settings from FACTORWATCH_*, {effective var: var to blame}, errors)."""
    errors: list[str] = []
    env: dict[str, str] = {}
    blame: dict[str, str] = {}
    ours = {k: v for k, v in environ.items() if k.upper().startswith(ENV_PREFIX)}
    for given, value in sorted(ours.items()):
        name = given
        if name.upper() in RESERVED_ENV:
            continue
        last = name[len(ENV_PREFIX) :].split("__")[-1].lower()
        if name.upper().endswith("_FILE") and last not in _SETTINGS_ENDING_IN_FILE:
            name = given[: -len("_FILE")]
            if name in ours:
                errors.append(f"{given}: {name} is also set; use one of them")
                continue
            try:
                value = Path(value).read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as exc:
                errors.append(f"{given}: cannot read {value!r}: {exc.strerror}")
                continue
        top = name[len(ENV_PREFIX) :].split("__")[0].lower()
        if top not in Settings.model_fields:
            errors.append(f"{given}: unknown setting")
            continue
        env[name] = value
        blame[name] = given
    while True:
        try:
            return _EnvironSource(env)(), blame, errors
        except SettingsError as exc:
            bad = _undecodable(env)
            if not bad:  # not a JSON problem we can pin on one variable
                raise ConfigError([*errors, f"{ENV_PREFIX}*: {exc}"]) from None
            for name, problem in bad:
                errors.append(f"{blame[name]}: invalid JSON: {problem}")
                del env[name]


def _undecodable(env: Mapping[str, str]) -> list[tuple[str, str]]:
    """The variables pydantic-settings could not decode as JSON, one at a time."""
    bad = []
    for name, value in env.items():
        try:
            _EnvironSource({name: value})()
        except SettingsError:
            try:
                json.loads(value)
                problem = "not accepted"
            except ValueError as exc:
                problem = str(exc)
            bad.append((name, problem))
    return bad


# --- merging, secrets, cross-references ----------------------------------------------------


_ONE_OF = (("api_key_env", "api_key_file"), ("webhook_url_env", "webhook_url_file"))


def _deep_merge(base: dict[str, Any], over: Mapping[str, Any], fold_case: bool) -> dict[str, Any]:
    """Merge `over` into `base`: maps recursively, anything else replaced, None removes."""
    out = dict(base)
    for first, second in _ONE_OF:
        # A layer that names one way to find a secret replaces the other way from below.
        if (first in over) != (second in over):
            out.pop(second if first in over else first, None)
    for key, value in over.items():
        target = key
        if fold_case and key not in out and isinstance(key, str):
            # Environment names are case-insensitive; ids in the file keep their case.
            target = next((k for k in out if isinstance(k, str) and k.lower() == key.lower()), key)
        if value is None:
            out.pop(target, None)
        elif isinstance(value, Mapping):
            # Merging into {} also drops nulls from new entries: null always means "default".
            below = out.get(target)
            out[target] = _deep_merge(below if isinstance(below, dict) else {}, value, fold_case)
        else:
            out[target] = value
    return out


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
    return found


# --- error text ----------------------------------------------------------------------------


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _show(value: Any) -> str:
    """A value as the user wrote it in YAML, short."""
    if isinstance(value, dict | list):
        return _kind(value)
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _number(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


_SIMPLE_MESSAGES = {
    "extra_forbidden": "unknown key",
    "missing": "required",
    "string_too_short": "must not be empty",
}
_EXPECTED = {
    "float": "a number",
    "int": "a whole number",
    "bool": "true or false",
    "string": "a string",
    "dict": "a mapping",
    "model": "a mapping",
    "list": "a list",
    "date": "a date (YYYY-MM-DD)",
}


def _message(err: Mapping[str, Any]) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind in _SIMPLE_MESSAGES:
        return _SIMPLE_MESSAGES[kind]
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])
    bounds = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
    for key, sign in bounds.items():
        if key in ctx and kind.startswith(("greater", "less")):
            return f"must be {sign} {_number(ctx[key])}"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}"
    for prefix, wanted in _EXPECTED.items():
        if kind.startswith(prefix + "_") or kind == f"{prefix}_type":
            return f"expected {wanted}, got {_show(err.get('input'))}"
    msg = str(err["msg"])
    return msg[:1].lower() + msg[1:]


def _depth_in(data: Any, loc: Loc) -> int:
    """How many steps of `loc` exist in `data` (keys compared case-insensitively)."""
    for depth, part in enumerate(loc):
        if isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        elif isinstance(data, dict):
            key = next((k for k in data if str(k).lower() == str(part).lower()), _MISSING)
            if key is _MISSING:
                return depth
            data = data[key]
        else:
            return depth
    return len(loc)


_MISSING = object()


def _format(
    loc: Loc, message: str, env_paths: Mapping[str, Loc] | None = None, env: Any = None
) -> str:
    """`a.b.c: message`, or `ENV_VAR[: rest]: message` when the environment set `loc`.

    With `env` (the settings read from the environment), a variable is blamed only for what
    it set itself, not for file or catalog entries merged beside it.
    """
    dotted = ".".join(str(part) for part in loc)
    if env is not None:
        depth = _depth_in(env, loc)
        if depth < len(loc) and not (depth == len(loc) - 1 and message == "required"):
            return f"{dotted}: {message}"
    folded = tuple(str(part).lower() for part in loc)
    for var, path in sorted((env_paths or {}).items(), key=lambda item: -len(item[1])):
        if folded[: len(path)] == path:
            rest = ".".join(str(part) for part in loc[len(path) :])
            return f"{var}: {rest}: {message}" if rest else f"{var}: {message}"
    return f"{dotted}: {message}"


def _validation_errors(exc: ValidationError) -> list[tuple[Loc, str]]:
    return [
        (tuple(p for p in err["loc"] if p != "[key]"), _message(err))
        for err in exc.errors(include_url=False)
    ]


# --- entry points --------------------------------------------------------------------------


def load_settings(
    path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Load and validate everything; raise ConfigError listing every problem."""
    environ = os.environ if environ is None else environ
    file_data = _read_file(Path(path)) if path is not None else {}
    file_problems = _pop_secrets(file_data) + _file_database_password(file_data)
    env_data, blame, env_errors = _read_env(environ)
    env_secrets = _pop_secrets(env_data)
    problems: list[tuple[Loc, str]] = []
    env_paths: dict[str, Loc] = {
        given: tuple(name[len(ENV_PREFIX) :].lower().split("__")) for name, given in blame.items()
    }

    use_catalog = _flag(env_data.get("builtin_catalog", file_data.get("builtin_catalog", True)))
    merged = _deep_merge(builtin_catalog() if use_catalog else {}, file_data, fold_case=False)
    merged = _deep_merge(merged, env_data, fold_case=True)
    settings: Settings | None = None
    try:
        settings = Settings.model_validate(merged)
    except ValidationError as exc:
        problems += _validation_errors(exc)
    problems += _cross_check(merged)

    errors = [_format(loc, msg) for loc, msg in file_problems] + env_errors
    errors += [_format(loc, msg, env_paths) for loc, msg in env_secrets]
    errors += [_format(loc, msg, env_paths, env_data) for loc, msg in problems]
    if errors or settings is None:
        raise ConfigError(list(dict.fromkeys(errors)) or ["invalid configuration"])
    return settings


def _flag(value: Any) -> bool:
    try:
        return TypeAdapter(bool).validate_python(value)
    except ValidationError:
        return True  # the Settings validation reports the bad value


def check_config(
    path: str | Path, environ: Mapping[str, str] | None = None
) -> tuple[bool, list[str]]:
    """For `factorwatch check-config FILE`: (True, [summary]) or (False, error lines)."""
    try:
        settings = load_settings(path, environ)
    except ConfigError as exc:
        return False, exc.errors
    counts = (
        (len(settings.providers), "provider"),
        (len(settings.candidates), "candidate"),
        (len(settings.workloads), "workload"),
    )
    return True, ["ok: " + ", ".join(f"{n} {word}{'' if n == 1 else 's'}" for n, word in counts)]
