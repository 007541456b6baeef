"""The `/v1/completions` scorer against the real llama-cpp-python server, serving the bundled
SmolLM2 model on 127.0.0.1 (`python -m llama_cpp.server`)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from llamos_gateway.localllm import LocalModel, bundled_model_path
from llamos_gateway.ranking.scorer import CompletionsScorer
from llamos_gateway.testing.ports import free_port
from llamos_gateway.testing.process import ServerProcess
from llamos_gateway.upstream.passthrough import HttpUpstream, build_http_client


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("llama_cpp.server.app", reason="llama-cpp-python[server] is not installed")
    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(bundled_model_path()),
               "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "512",
               "--logits_all", "true", "--n_threads", "1"]
    log: Path = tmp_path_factory.mktemp("llama") / "server.log"
    with ServerProcess(command, port=port, log_path=log, ready_path="/v1/models") as server:
        yield server.url + "/v1"


@pytest.fixture
async def scorer(llama_server: str) -> AsyncIterator[CompletionsScorer]:
    client = build_http_client(max_connections=4, timeout_s=30, connect_timeout_s=5)
    upstream = HttpUpstream(name="llama", api_base=llama_server, client=client, max_retries=0)
    yield CompletionsScorer(upstream, "smollm2", prefix="<|im_start|>", timeout_s=30,
                            concurrency=2)
    await client.close()


async def test_the_served_model_prefers_the_clean_sentences(scorer: CompletionsScorer) -> None:
    texts = ["this is a good movie", "this is a god movie", "a wild ride", "a wold ride"]
    good, god, wild, wold = await scorer.logprobs(texts)
    assert good > god
    assert wild > wold
    assert all(s < 0 for s in (good, god, wild, wold))


async def test_the_served_score_is_the_in_process_score_less_the_first_token(
        scorer: CompletionsScorer, local_model: LocalModel) -> None:
    """Same model, same tokens: the served sum is the in-process one without the first token
    (which the API gives no log-probability) and without the generated one."""
    text = "the film is a charming and often affecting journey"
    first = "the"
    (served,) = await scorer.logprobs([text])
    (whole, alone) = local_model.score([text, first])
    assert served == pytest.approx(whole.logprob - alone.logprob, abs=0.05)
