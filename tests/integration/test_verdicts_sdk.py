"""Verdicts and actions through the official `openai` SDK, against the gateway served on
127.0.0.1 with the real lexical backend: each verdict (clean, repaired, suspicious, blocked)
and each action (purify, flag, block), chosen per model and per key, as the headers, the
upstream, the audit trail and `/v1/purify` see them."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import openai
import pytest

from llamos_gateway.settings import Settings
from llamos_gateway.testing import FakeOpenAI

pytestmark = pytest.mark.slow

CLEAN = "This movie was great and the actors were wonderful"
ATTACKED = "This movіe was grеat and the аctors were wonderful"  # Cyrillic і, е, а
TYPO = "the movie was terible"


@pytest.fixture
def url(settings_for: Callable[..., Settings], serve_gateway: Callable[..., str],
        fake_url: str) -> str:
    def alias(**defense: object) -> dict[str, object]:
        return {"model": "openai/fake-model", "api_base": fake_url, "defense": defense}

    settings = settings_for(
        defense={"backend": "lexical"},
        models={"fake": alias(), "fake-flag": alias(action="flag"),
                "fake-block": alias(action="block")},
        auth={"api_keys": [{"key": "sk-plain", "id": "plain", "admin": True},
                           {"key": "sk-strict", "id": "strict",
                            "defense": {"action": "block", "block_threshold": 0.5}}]})
    return serve_gateway(settings)


def ask(url: str, model: str, text: str, key: str = "sk-plain") -> openai.APIResponse:  # type: ignore[type-arg]
    client = openai.OpenAI(base_url=url, api_key=key, max_retries=0)
    return client.chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": text}])


def sent(fake: FakeOpenAI) -> str:
    return str(fake.history[-1].body["messages"][0]["content"])


@pytest.mark.parametrize(("text", "verdict", "forwarded"), [
    (CLEAN, "clean", CLEAN),
    (TYPO, "repaired", "the movie was terrible"),
    (ATTACKED, "suspicious", CLEAN),
])
def test_purify_action_verdicts(url: str, fake_upstream: FakeOpenAI, text: str, verdict: str,
                                forwarded: str) -> None:
    raw = ask(url, "fake", text)
    assert raw.headers["x-llamos-verdict"] == verdict
    assert (float(raw.headers["x-llamos-score"]) >= 0.9) is (verdict == "suspicious")
    assert sent(fake_upstream) == forwarded


def test_flag_records_and_forwards_the_original(url: str, fake_upstream: FakeOpenAI) -> None:
    raw = ask(url, "fake-flag", ATTACKED)
    assert raw.headers["x-llamos-verdict"] == "suspicious"
    assert sent(fake_upstream) == ATTACKED


def test_block_refuses_with_an_openai_error(url: str, fake_upstream: FakeOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        ask(url, "fake-block", ATTACKED)
    assert caught.value.code == "content_blocked"
    assert caught.value.response.headers["x-llamos-verdict"] == "blocked"
    assert fake_upstream.history == []
    assert ask(url, "fake-block", TYPO).headers["x-llamos-verdict"] == "repaired"  # below it


def test_a_keys_policy_overrides_the_models(url: str, fake_upstream: FakeOpenAI) -> None:
    # key `strict`: block from 0.5, so even the typo (0.6) is refused on the purify model
    with pytest.raises(openai.BadRequestError):
        ask(url, "fake", TYPO, key="sk-strict")
    assert fake_upstream.history == []
    assert ask(url, "fake", TYPO).headers["x-llamos-verdict"] == "repaired"


def test_audit_and_purify_endpoint_carry_the_verdict(url: str,
                                                     fake_upstream: FakeOpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        ask(url, "fake-block", ATTACKED)
    base = url.removesuffix("/v1")
    auth = {"authorization": "Bearer sk-plain"}
    records = httpx.get(f"{base}/v1/audit?limit=1", headers=auth).json()["data"]
    assert (records[-1]["verdict"], records[-1]["action"], records[-1]["status"]) == (
        "blocked", "block", 400)
    assert records[-1]["texts"][0]["verdict"] == "blocked"
    assert records[-1]["score"] >= 0.9
    purified = httpx.post(f"{base}/v1/purify", headers=auth,
                          json={"texts": [CLEAN, ATTACKED]}).json()
    assert [r["verdict"] for r in purified["results"]] == ["clean", "suspicious"]
    assert purified["verdict"] == "suspicious" and purified["action"] == "purify"
