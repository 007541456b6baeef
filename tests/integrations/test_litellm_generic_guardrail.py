"""LiteLLM's own proxy (its own virtualenv, a process of its own) configured with a
`generic_guardrail_api` guardrail pointing at this gateway: a homoglyph prompt arrives at the
fake upstream purified, and the same prompt under a blocking key is refused by LiteLLM."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from llamos_gateway.settings import Settings
from llamos_gateway.testing import FakeOpenAI, ServerProcess, free_port
from llamos_gateway.testing.litellm_proxy import ensure_litellm_proxy

pytestmark = pytest.mark.slow

MASTER = "sk-litellm-master-0123456789"
ATTACKED = "This movіe was grеat and the аctors were wonderful"  # Cyrillic і, е, а
CLEAN = "This movie was great and the actors were wonderful"


@pytest.fixture
def litellm_proxy(tmp_path: Path, settings_for: Callable[..., Settings], fake_url: str,
                  serve_gateway: Callable[..., str]) -> Iterator[str]:
    binary = ensure_litellm_proxy()
    if binary is None:
        pytest.skip("the LiteLLM proxy virtualenv (.venv-litellm-proxy) could not be created")
    settings = settings_for(defense={"backend": "lexical"}, auth={"api_keys": [
        {"key": "sk-guard-purify", "id": "litellm-purify"},
        {"key": "sk-guard-block", "id": "litellm-block", "defense": {"action": "block"}}]})
    gateway = serve_gateway(settings).removesuffix("/v1")

    def guardrail(name: str, key: str) -> dict[str, object]:
        return {"guardrail_name": name, "litellm_params": {
            "guardrail": "generic_guardrail_api", "mode": "pre_call", "api_base": gateway,
            "api_key": key, "default_on": False}}

    config = {"model_list": [{"model_name": "target", "litellm_params": {
                  "model": "openai/fake-model", "api_base": fake_url, "api_key": "sk-fake"}}],
              "guardrails": [guardrail("llamos", "sk-guard-purify"),
                             guardrail("llamos-block", "sk-guard-block")]}
    path = tmp_path / "litellm.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    port = free_port()
    proxy = ServerProcess([str(binary), "--config", str(path), "--port", str(port),
                           "--num_workers", "1"], port=port, log_path=tmp_path / "litellm.log",
                          ready_path="/health/liveliness",
                          env={"LITELLM_MASTER_KEY": MASTER, "LITELLM_LOG": "ERROR",
                               "LITELLM_LOCAL_MODEL_COST_MAP": "True"})
    proxy.start(timeout_s=240.0)
    try:
        yield proxy.url
    finally:
        proxy.stop()


def chat(url: str, guardrail: str) -> httpx.Response:
    body = {"model": "target", "messages": [{"role": "system", "content": "Be brief."},
                                            {"role": "user", "content": ATTACKED}],
            "guardrails": [guardrail]}
    return httpx.post(f"{url}/v1/chat/completions", json=body, timeout=60.0,
                      headers={"authorization": f"Bearer {MASTER}"})


def chats(fake: FakeOpenAI) -> list[dict[str, object]]:
    """The chat requests the upstream received (LiteLLM also lists its models)."""
    return [r.body for r in fake.history if r.path.endswith("/chat/completions")]


def test_litellm_proxy_purifies_and_refuses_through_the_generic_guardrail(
        litellm_proxy: str, fake_upstream: FakeOpenAI) -> None:
    # one proxy start (slow) for both: first the blocking key, so the upstream has seen nothing
    refused = chat(litellm_proxy, "llamos-block")
    assert refused.status_code >= 400, refused.text
    assert "blocked by the LLAMOS defense" in refused.text
    assert chats(fake_upstream) == []

    response = chat(litellm_proxy, "llamos")
    assert response.status_code == 200, response.text
    sent = chats(fake_upstream)
    assert len(sent) == 1
    assert [m["content"] for m in sent[0]["messages"]] == ["Be brief.", CLEAN]
