"""load_settings(): read the YAML file and FACTORWATCH_* environment, layer them, validate.

The built-in catalog goes underneath the file, and the environment on top of both;
`FACTORWATCH_X_FILE=/path` reads X's value from a file. Every problem from every layer is
collected before ConfigError is raised.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError
from pydantic_settings import EnvSettingsSource, SettingsError
from pydantic_settings.sources.utils import parse_env_vars

from service.catalog import builtin_catalog
from service.config.checks import _cross_check, _file_database_password, _pop_secrets
from service.config.errors import ConfigError, Loc, _format, _kind, _validation_errors
from service.config.models import ENV_PREFIX, Settings
from service.config.retention import retention_problems

# FACTORWATCH_* variables that are not settings: the config path (the CLI reads it), the
# HTTP API's bearer token (service/api/auth.py; never part of the settings or their dumps),
# and FACTORWATCH_CI, which .ci/run sets for the test suite.
RESERVED_ENV = frozenset({"FACTORWATCH_CONFIG", "FACTORWATCH_API_TOKEN",
                          "FACTORWATCH_API_TOKEN_FILE", "FACTORWATCH_CI"})


# --- reading the file ----------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that notes every duplicate key instead of silently keeping the last one."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[yaml.Mark, str]] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str | int | float | bool):  # others fail in the base class
                if key in seen:
                    self.duplicates.append((key_node.start_mark, f"duplicate key {key!r}"))
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _at(mark: yaml.Mark | None) -> str:
    return f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""


def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read: {exc}"]) from None
    loader = _StrictLoader(text)  # a SafeLoader subclass
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        raise ConfigError([f"{path}: invalid YAML{_at(exc.problem_mark)}: {exc.problem}"]) \
            from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: invalid YAML: {exc}"]) from None
    finally:
        loader.dispose()
    if loader.duplicates:
        raise ConfigError([f"{path}: invalid YAML{_at(mark)}: {problem}"
                           for mark, problem in loader.duplicates])
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


# --- merging the layers --------------------------------------------------------------------


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


# --- entry points --------------------------------------------------------------------------


def load_settings(
    path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Load and validate everything; raise ConfigError listing every problem."""
    environ = os.environ if environ is None else environ
    unreadable: list[str] = []  # the file's own problems: nothing in it can be validated
    try:
        file_data = _read_file(Path(path)) if path is not None else {}
    except ConfigError as exc:
        file_data, unreadable = {}, exc.errors
    file_problems = _pop_secrets(file_data) + _file_database_password(file_data)
    env_data, blame, env_errors = _read_env(environ)
    env_secrets = _pop_secrets(env_data)
    if unreadable:  # still list what is wrong in the environment, which the file cannot fix
        raise ConfigError(unreadable + env_errors + [
            _format(loc, msg, {given: _env_path(name) for name, given in blame.items()})
            for loc, msg in env_secrets])
    problems: list[tuple[Loc, str]] = []
    env_paths: dict[str, Loc] = {given: _env_path(name) for name, given in blame.items()}

    use_catalog = _flag(env_data.get("builtin_catalog", file_data.get("builtin_catalog", True)))
    merged = _deep_merge(builtin_catalog() if use_catalog else {}, file_data, fold_case=False)
    merged = _deep_merge(merged, env_data, fold_case=True)
    settings: Settings | None = None
    try:
        settings = Settings.model_validate(merged)
    except ValidationError as exc:
        problems += _validation_errors(exc)
        problems += _retention_beside(merged)
    else:
        problems += retention_problems(settings)  # spans sections: needs them all validated
    problems += _cross_check(merged)

    errors = [_format(loc, msg) for loc, msg in file_problems] + env_errors
    errors += [_format(loc, msg, env_paths) for loc, msg in env_secrets]
    errors += [_format(loc, msg, env_paths, env_data) for loc, msg in problems]
    if errors or settings is None:
        raise ConfigError(list(dict.fromkeys(errors)) or ["invalid configuration"])
    return settings


def _env_path(name: str) -> Loc:
    """The settings path a FACTORWATCH_* variable sets: FACTORWATCH_A__B -> ("a", "b")."""
    return tuple(name[len(ENV_PREFIX) :].lower().split("__"))


# The sections retention_problems reads.
_RETENTION_INPUTS = ("retention", "scoring", "alerts")


def _retention_beside(merged: Mapping[str, Any]) -> list[tuple[Loc, str]]:
    """The retention checks when another section is invalid: on the sections they read, if
    those are valid on their own (their own errors are already listed)."""
    try:
        alone = Settings.model_validate({k: merged[k] for k in _RETENTION_INPUTS if k in merged})
    except ValidationError:
        return []
    return retention_problems(alone)


def _flag(value: Any) -> bool:
    try:
        return TypeAdapter(bool).validate_python(value)
    except ValidationError:
        return True  # the Settings validation reports the bad value


def check_config(
    path: str | Path | None, environ: Mapping[str, str] | None = None
) -> tuple[bool, list[str]]:
    """For `factorwatch check-config [FILE]`: (True, [summary]) or (False, error lines).
    Without a file: the built-in catalog and the environment."""
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
