"""The in-process local model against the real bundled GGUF file."""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from llamos_gateway.localllm import (
    LocalModel,
    LocalModelUnavailable,
    TextScore,
    bundled_model_path,
)

pytestmark = pytest.mark.slow


def test_scores_prefer_the_clean_sentence(local_model: LocalModel) -> None:
    clean, typo = local_model.score(["it is a good movie .", "it is a god movie ."])
    assert clean.tokens == typo.tokens > 0
    assert clean.logprob > typo.logprob


def test_score_is_deterministic_and_empty_text_scores_zero(local_model: LocalModel) -> None:
    first = local_model.score(["a wild ride through the desert"])
    again = local_model.score(["a wild ride through the desert"])
    assert first == again
    assert local_model.score([""]) == [TextScore(logprob=0.0, tokens=0)]


def test_a_score_does_not_depend_on_what_was_scored_before(local_model: LocalModel) -> None:
    # texts that share their start reuse the context's evaluated tokens: the same numbers as
    # a text scored after an unrelated one, in any order, and when one is the other's prefix
    texts = ["the film is a good story , told well .", "the film is a god story , told well .",
             "the film is a good story", "the film is a good story , told well ."]
    together = local_model.score(texts)
    alone = []
    for text in reversed(texts):
        local_model.score(["an unrelated sentence about the weather"])
        alone.append(local_model.score([text])[0])
    assert together[0] == together[3]
    for a, b in zip(together, reversed(alone), strict=True):
        assert a.tokens == b.tokens
        assert abs(a.logprob - b.logprob) < 1e-3


def test_long_text_is_scored_in_windows(local_model: LocalModel) -> None:
    text = "the cat sat on the mat . " * 120  # more tokens than the scoring context
    (score,) = local_model.score([text])
    assert score.tokens > local_model.score_ctx
    assert np.isfinite(score.logprob) and score.logprob < 0


def test_chat_and_stream(local_model: LocalModel) -> None:
    messages = [{"role": "user", "content": "Name a colour."}]
    reply = local_model.chat(messages, max_tokens=8)
    assert reply.text and reply.prompt_tokens > 0 and 0 < reply.completion_tokens <= 8
    assert "".join(local_model.chat_stream(messages, max_tokens=8)).strip()


def test_without_prefix_reuse_replies_do_not_depend_on_the_previous_prompt() -> None:
    model = LocalModel(bundled_model_path(), reuse_prefix=False, n_ctx=512)
    try:
        messages = [{"role": "user", "content": "Name a colour."}]
        first = model.chat(messages, max_tokens=8)
        model.chat([{"role": "user", "content": "Name a colour of the sea."}], max_tokens=8)
        assert model.chat(messages, max_tokens=8) == first
        assert "".join(model.chat_stream(messages, max_tokens=8)) == first.text
    finally:
        model.close()


def test_plain_completion(local_model: LocalModel) -> None:
    reply = local_model.complete("The capital of France is", max_tokens=4)
    assert reply.completion_tokens > 0 and reply.finish_reason in {"length", "stop"}


def test_token_embeddings_one_row_per_token(local_model: LocalModel) -> None:
    rows = local_model.token_embeddings("it is a good movie .")
    assert rows.shape[0] == local_model.count_tokens("it is a good movie .")
    assert rows.shape[1] > 100 and np.isfinite(rows).all()


def test_missing_model_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LocalModelUnavailable, match="no GGUF model file"):
        LocalModel(tmp_path / "missing.gguf")


def test_models_opened_at_once_leave_stdout_and_stderr_alone() -> None:
    # llama-cpp-python points fds 1 and 2 (and sys.stdout/sys.stderr) at /dev/null while it
    # loads; two loads in two threads used to leave the process silenced for good.
    before = sys.stdout, sys.stderr, os.fstat(1).st_ino, os.fstat(2).st_ino
    models = [LocalModel(bundled_model_path(), n_threads=1) for _ in range(4)]
    try:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda m: m.count_tokens("a few words"), models))
        assert (sys.stdout, sys.stderr, os.fstat(1).st_ino, os.fstat(2).st_ino) == before
    finally:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(LocalModel.close, models))
    assert (sys.stdout, sys.stderr, os.fstat(1).st_ino, os.fstat(2).st_ino) == before
