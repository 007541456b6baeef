"""Property-based fuzzing of every route and field, in-process (bounded: well under a minute).

The app runs with the lexical defense, both upstream paths on the fake, auth, audit and
metrics (`testing.fuzz.fuzz_config`). A request may be refused (4xx) or fail upstream (502),
never with a 500, an exception out of the app, a logged traceback, or a response much larger
than itself. The examples are derandomized (the same on every run, so CI is repeatable);
`bench/fuzz_gateway.py` draws fresh ones for minutes and prints a table.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from llamos_gateway.api.app import create_app
from llamos_gateway.settings import load_settings
from llamos_gateway.testing import FakeOpenAI, ServedApp
from llamos_gateway.testing.fuzz import (
    FuzzRequest,
    FuzzStats,
    TracebackCatcher,
    fuzz_config,
    requests,
    send,
)

EXAMPLES = 400


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with ServedApp(FakeOpenAI()) as served:
        app = create_app(load_settings(**fuzz_config(served.url + "/v1")))
        with TestClient(app, raise_server_exceptions=True) as test_client:
            yield test_client


@pytest.fixture(scope="module")
def catcher() -> Iterator[TracebackCatcher]:
    handler = TracebackCatcher()
    logging.getLogger().addHandler(handler)
    yield handler
    logging.getLogger().removeHandler(handler)


STATS = FuzzStats()


@settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(request=requests())
def test_no_500_no_traceback_no_unbounded_response(client: TestClient,
                                                   catcher: TracebackCatcher,
                                                   request: FuzzRequest) -> None:
    catcher.caught.clear()
    problems = send(client, request, STATS)
    assert not problems, problems
    assert not catcher.caught, (catcher.caught, request.describe())


def test_the_fuzz_reached_every_route() -> None:
    """The strategies really cover the surface (else the property above proves little)."""
    assert set(STATS.requests) >= {"chat", "completions", "embeddings", "responses", "purify",
                                   "guardrail", "audit", "models", "other"}
    # the three fixed GET routes share one branch (their answers do not depend on the request)
    assert set(STATS.requests) & {"healthz", "readyz", "metrics"}
    accepted = {route for (route, status) in STATS.statuses if status == 200}
    assert accepted >= {"chat", "completions", "embeddings", "responses", "purify", "guardrail",
                        "audit", "models"}
    refused = {route for (route, status) in STATS.statuses if status == 400}
    assert refused >= {"chat", "completions", "embeddings", "responses", "purify"}
