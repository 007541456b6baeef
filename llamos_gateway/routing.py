"""Which path each model name takes, decided from the settings alone.

No client is opened and no provider library imported here, so `llamos models` and the start-up
line of `llamos serve` answer at once; `wiring.build_router` builds its upstreams from the same
plan, so what they print is what the gateway does.
"""

from __future__ import annotations

from dataclasses import dataclass

from llamos_gateway.errors import ConfigError
from llamos_gateway.settings import ModelSpec, Settings

# The built-in offline models (wiring.local_models maps each to its implementation).
BUILTIN_MODELS = ("local/echo", "local/sst2-sentiment", "local/smollm2")
# Not a model by itself: `local/gguf` with `gguf_path` serves that GGUF file in process.
GGUF_MODEL = "local/gguf"


@dataclass(frozen=True, slots=True)
class RoutePlan:
    alias: str
    path: str  # "passthrough", "litellm" or "local"
    upstream_model: str
    owned_by: str


def plan_route(alias: str, spec: ModelSpec, *, key: str | None = None) -> RoutePlan:
    """`key` names where the model was written (`models.NAME`, `defense.model`) in errors."""
    if spec.model.startswith("local/"):
        where = f"models.{alias}.model" if key is None else (
            key if key.endswith(".model") else f"{key}.model")
        if spec.model == GGUF_MODEL:
            if spec.gguf_path is None:
                raise ConfigError(f"{where}: {GGUF_MODEL} needs gguf_path (a GGUF file)")
            return RoutePlan(alias, "local", alias, "llama.cpp")
        if spec.model not in BUILTIN_MODELS:
            raise ConfigError(f"{where}: unknown built-in model '{spec.model}' "
                              f"(built-ins: {', '.join(sorted(BUILTIN_MODELS))})")
        return RoutePlan(alias, "local", spec.model, "llamos-local")
    if spec.uses_passthrough:
        return RoutePlan(alias, "passthrough", spec.model.removeprefix("openai/"),
                         "openai-compatible")
    return RoutePlan(alias, "litellm", spec.model, spec.model.split("/", 1)[0])


def plan_routes(settings: Settings) -> list[RoutePlan]:
    """Every model name clients can ask for: the built-ins, then the configured aliases (an
    alias named like a built-in replaces it)."""
    plans = {name: RoutePlan(name, "local", name, "llamos-local") for name in BUILTIN_MODELS}
    for alias, spec in settings.models.items():
        plans[alias] = plan_route(alias, spec)
    return list(plans.values())
