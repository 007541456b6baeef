"""A GGUF model run in process by llama-cpp-python (the `local-llm` extra): chat, plain
completions, log-probabilities of texts and token embeddings, for the built-in local model,
the ranked-repair scorer and the similarity of the judge alike."""

from llamos_gateway.localllm.engine import (
    ChatOutput,
    LocalModel,
    LocalModelUnavailable,
    TextScore,
    bundled_model_path,
)

__all__ = ["ChatOutput", "LocalModel", "LocalModelUnavailable", "TextScore", "bundled_model_path"]
