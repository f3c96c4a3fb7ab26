"""Schemathesis against /openapi.json: generated requests to every endpoint of the app, on
the known store, never get a server error. Bounded: a few examples per operation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.apidata import app_for, seed

TOKEN = "schemathesis-token"


@pytest.fixture(scope="module")
def api_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    async def rescore() -> bool:
        return True

    seeded = seed(tmp_path_factory.mktemp("schema"))
    yield app_for(seeded, token=TOKEN, rescore=rescore)
    seeded.engine.dispose()


def operations(app: FastAPI) -> list[schemathesis.APIOperation]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


def test_no_generated_request_gets_a_server_error(api_app: FastAPI) -> None:
    ops = operations(api_app)
    assert len(ops) >= 14  # every resource is in the spec
    failures: list[str] = []
    for op in ops:
        @given(case=op.as_strategy())
        @settings(max_examples=6, deadline=None, derandomize=True, database=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        def call(case: schemathesis.Case) -> None:
            # Authorised as an operator would be, so the state-changing endpoints run too.
            case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"},
                                   checks=[not_a_server_error, response_schema_conformance])

        try:
            call()
        except Exception as exc:  # collect them all: one report for every operation
            failures.append(f"{op.method.upper()} {op.path}: {exc}")
    assert not failures, "\n\n".join(failures)
