"""Configuration: one pydantic-settings model, `LLAMOS_` prefix, `__` for nesting.

Sources, highest first: init arguments, environment (`LLAMOS_DEFENSE__MODE=shadow`),
the optional YAML file (`llamos serve --config llamos.yaml`), defaults. Built once at the
entry point (`load_settings`) and passed down; nothing here is read at import time.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings.exceptions import SettingsError

from llamos_gateway import backends
from llamos_gateway.config_sources import check_environment, read_yaml
from llamos_gateway.defense.policy import (
    DEFAULT_BLOCK_THRESHOLD,
    Action,
    Policy,
    PolicyBook,
    PolicyOverride,
    Role,
)
from llamos_gateway.defense.protocol import DefenseMode as DefenseMode  # re-exported
from llamos_gateway.defense.protocol import FailPolicy, Task
from llamos_gateway.errors import ConfigError

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"


def _comma_list(value: Any) -> Any:
    """A list from the environment: JSON (`["a", "b"]`) or comma-separated (`a,b`)."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not a JSON list ({exc.msg}); write a,b or [\"a\", \"b\"]") from None
    return [v.strip() for v in text.split(",") if v.strip()]


class _Group(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerSettings(_Group):
    host: str = Field("127.0.0.1", description="bind address")
    port: int = Field(8000, ge=1, le=65535, description="HTTP port")
    workers: int = Field(
        1, ge=1, le=64, description="worker processes; >1 wants redis.url so state is shared")
    local_model_instances: int = Field(
        1, ge=1, le=16,
        description="in-process GGUF models (local/smollm2, local/gguf): copies per model and "
                    "worker answering at once, the cores split between them")
    shutdown_grace_s: float = Field(
        10.0, ge=0, le=3600,
        description="on SIGTERM: requests and streams still open this long after it end (503, or "
                    "an SSE error event server_shutting_down); the process exits about a second "
                    "later")


class ApiKey(_Group):
    """A gateway API key. `id` is what logs, audit records and metrics show; never the key."""

    key: SecretStr
    id: str | None = None
    admin: bool = False
    defense_mode: DefenseMode | None = None
    requests_per_minute: int | None = Field(None, ge=1)
    tokens_per_minute: int | None = Field(None, ge=1)
    defense: PolicyOverride | None = None  # this key's policy: mode, backend, action, ...

    def policy(self) -> PolicyOverride | None:
        """This key's layer of the defense policy (`defense_mode` is short for defense.mode)."""
        if self.defense_mode is None:
            return self.defense
        base = self.defense or PolicyOverride()
        if base.mode is not None:
            return base
        return base.model_copy(update={"mode": self.defense_mode})


class AuthSettings(_Group):
    """Bearer keys. Empty list = no auth (local development)."""

    api_keys: Annotated[list[ApiKey], NoDecode] = Field(
        default_factory=list,
        description="bearer keys: strings or {key, id, admin, defense_mode, defense, "
                    "requests_per_minute, tokens_per_minute}; empty = no auth")

    @field_validator("api_keys", mode="before")
    @classmethod
    def _plain_strings(cls, value: Any) -> Any:
        value = _comma_list(value)
        if isinstance(value, list):
            return [{"key": v} if isinstance(v, str) else v for v in value]
        return value


class ModelSpec(_Group):
    """An alias the clients use -> the model the gateway calls.

    `model` is a litellm model string (`openai/gpt-4o-mini`, `anthropic/claude-3-5-haiku-latest`,
    `ollama/llama3.1`) or a built-in `local/...` model. An `openai/...` model with an
    `api_base` takes the fast pass-through path unless `passthrough: false`.
    """

    model: str
    api_base: str | None = None
    api_key_env: str | None = Field(
        None, description="name of the environment variable holding the provider key"
    )
    passthrough: bool | None = None
    timeout_s: float | None = Field(None, gt=0)
    max_retries: int | None = Field(None, ge=0, le=10)
    extra_headers: dict[str, str] = Field(default_factory=dict)
    defense: PolicyOverride | None = None  # this model's policy: mode, backend, action, ...
    # POST /v1/responses on a pass-through upstream: auto forwards it and translates to chat
    # completions when the upstream answers 404/405; passthrough only forwards; translate
    # always translates (litellm and built-in models always translate)
    responses: Literal["auto", "passthrough", "translate"] = "auto"
    request_id_header: str | None = Field(
        None, description="send the request id to this model under this header (default: not sent)")
    gguf_path: Path | None = Field(
        None, description="with model local/gguf: the GGUF file served in process by llama.cpp")

    def api_key(self) -> str | None:
        return os.environ.get(self.api_key_env) if self.api_key_env else None

    @property
    def uses_passthrough(self) -> bool:
        if self.passthrough is not None:
            return self.passthrough and self.api_base is not None
        return self.model.startswith("openai/") and self.api_base is not None


class DefenseSettings(_Group):
    mode: DefenseMode = Field(
        DefenseMode.ENFORCE,
        description="enforce | shadow (purify, record, forward the original) | off")
    header_override: bool = Field(
        True,
        description="let clients pick the mode per request with x-llamos-defense (false: 403)")
    backend: str = Field(
        backends.AUTO, description="auto = llamos when a defense model is set, else lexical",
        json_schema_extra={"enum": [backends.AUTO, *backends.names()]})
    model: Annotated[str | list[str] | None, NoDecode] = Field(
        None,
        description="defense LLM: an alias from `models` or a litellm model string; a list = "
                    "fallbacks, tried in order on error or timeout")
    action: Action = Field(
        Action.PURIFY,
        description="texts scoring >= block_threshold: purify (forward the purified text), flag "
                    "(forward the original, record the verdict) or block (400 content_blocked)")
    block_threshold: float = Field(
        DEFAULT_BLOCK_THRESHOLD, ge=0.0, le=1.0,
        description="suspicion score from which a text is suspicious (and blocked under action "
                    "block); see bench/verdict_bench.py")
    api_base: str | None = Field(
        None, description="OpenAI-compatible base URL of the defense model")
    api_key_env: str | None = Field(
        None, description="environment variable holding the defense model's key")
    roles: Annotated[list[Role], NoDecode] = Field(
        default_factory=lambda: list[Role](["user"]),
        description="message roles whose text is purified (add tool for indirect injection); env: "
                    "user,tool or JSON")
    purify_embeddings: bool = Field(False, description="purify /v1/embeddings inputs too")
    fail_policy: FailPolicy = Field(
        "open",
        description="defense model down: open forwards the original, or tiered's lexical pass "
                    "(x-llamos-fail-open); closed answers 503")
    task: Task | None = Field(
        None, description="default task hint for the agent (header x-llamos-task overrides)")
    prompts_dir: Path = Field(
        PROMPTS_DIR, description="directory holding llamos/ (and attacker/) prompt files")
    response_format: Literal["auto", "json_object", "json_schema", "off"] = Field(
        "auto",
        description="how the agent's reply is constrained; auto = json_schema for an in-process "
                    "local model, else json_object")
    prompt_set: Literal["default", "compact"] = Field(
        "default",
        description="agent prompts: default (paper-faithful, prompts_dir/llamos) or compact (small "
                    "models, prompts_dir/llamos-compact)")
    examples: int = Field(4, ge=0, le=64, description="in-context examples given to the agent")
    timeout_s: float = Field(20.0, gt=0, description="defense model call timeout")
    max_retries: int = Field(
        1, ge=0, le=5, description="defense model retries (errors, unparseable replies)")
    max_edit_ratio: float = Field(
        0.35, gt=0, le=1.0, description="drift bound: larger rewrites fall back")
    max_length_ratio: float = Field(1.5, ge=1.0, description="drift bound on output/input length")
    idempotence_check: bool = Field(
        False, description="purify the output again and flag oscillation")
    long_text: Literal["split", "skip"] = Field(
        "split", description="texts over max_chars: split on sentences, or skip with a reason code")
    max_chars: int = Field(4000, ge=64, description="longest text purified in one agent call")
    concurrency: int = Field(
        8, ge=1, le=256,
        description="texts of one request (or one /v1/purify or evaluation batch) purified at once")

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if value != backends.AUTO and value not in backends.names():
            raise ValueError(f"unknown backend '{value}' (choose from {backends.AUTO}, "
                             f"{', '.join(backends.names())})")
        return value
    max_inflight: int = Field(
        64, ge=1, le=4096,
        description="defense model calls in flight per worker; more wait, within timeout_s (then "
                    "fail as defense_busy)")
    tiered_always: bool = Field(False, description="tiered backend: call the agent for every input")
    tiered_scope: Literal["words", "text"] = Field(
        "words",
        description="tiered backend: what the agent may change: words (only words the lexicon does "
                    "not know, into known words within 2 edits; the rest is vetoed) or text (its "
                    "whole output, within the drift guards: for capable defense models)")
    screen_threshold: float = Field(
        0.5, ge=0.0, le=1.0,
        description="lexical screening score above which an input looks attacked")
    ranked_scorer: Literal["ngram", "local", "completions"] = Field(
        "ngram",
        description="ranked backend: what ranks candidate repairs: the bundled n-gram model, the "
                    "local GGUF model in process, or ranked_scorer_model's /v1/completions")
    ranked_scorer_model: str | None = Field(
        None,
        description="ranked backend, completions scorer: an alias from `models` with an api_base "
                    "that echoes prompt logprobs (vLLM, llama-cpp-python's server)")
    ranked_scorer_prefix: str = Field(
        "",
        description="ranked backend, completions scorer: text put before each scored text (the "
                    "model's BOS token, e.g. <|im_start|> for llama-cpp-python's server)")
    ranked_margin_known: float | None = Field(
        None, ge=0.0,
        description="ranked backend: score gain (nats) a repair of a real word needs; unset = the "
                    "scorer's calibrated margin")
    ranked_margin_unknown: float | None = Field(
        None, ge=0.0,
        description="ranked backend: score gain (nats) a repair of an unknown word needs; unset = "
                    "calibrated")
    ranked_decision: Literal["margin", "learned"] = Field(
        "margin",
        description="ranked backend: what decides a repair: the calibrated score margins, or the "
                    "learned logistic model over the gain, edit type and word frequencies (n-gram "
                    "scorer only; other scorers use the margins)")
    ranked_threshold_known: float | None = Field(
        None,
        description="ranked backend, learned decision: the logit a repair of a real word needs; "
                    "unset = the threshold calibrated on clean text")
    ranked_threshold_unknown: float | None = Field(
        None,
        description="ranked backend, learned decision: the logit a repair of an unknown word "
                    "needs; unset = calibrated")
    ranked_candidates: int = Field(
        6, ge=1, le=64, description="ranked backend: candidates per word the scorer weighs")
    ranked_words: int = Field(
        8, ge=1, le=256, description="ranked backend: words per text the scorer weighs")

    @field_validator("roles", mode="before")
    @classmethod
    def _roles_list(cls, value: Any) -> Any:
        return _comma_list(value)

    @field_validator("model", mode="before")
    @classmethod
    def _model_list(cls, value: Any) -> Any:
        if isinstance(value, str) and ("," in value or value.strip().startswith("[")):
            return _comma_list(value)
        return value

    @field_validator("model")
    @classmethod
    def _models_given(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list) and not value:
            raise ValueError("an empty list: give at least one defense model, or none")
        return value

    @property
    def models(self) -> list[str]:
        """The defense models, first choice first (empty: none)."""
        if self.model is None:
            return []
        return [self.model] if isinstance(self.model, str) else list(self.model)

    def policy(self) -> Policy:
        """The global layer of the defense policy."""
        return Policy(mode=self.mode, action=self.action, block_threshold=self.block_threshold,
                      roles=frozenset(self.roles), task=self.task)


class RedisSettings(_Group):
    url: str | None = Field(
        None, description="redis://127.0.0.1:6379/0; unset = in-memory, single process")
    key_prefix: str = Field("llamos:", description="prefix of every Redis key")
    socket_timeout_s: float = Field(0.25, gt=0, description="timeout of every Redis call")
    retry_after_s: float = Field(2.0, gt=0, description="back-off before trying a down Redis again")


class CacheSettings(_Group):
    enabled: bool = Field(True, description="cache purification results")
    ttl_s: int = Field(86400, ge=1, description="cache entry lifetime")
    lock_timeout_s: float = Field(
        30.0, gt=0, description="single-flight lock: others wait at most this long")
    max_entries: int = Field(10000, ge=1, description="in-memory cache size")
    max_bytes: int = Field(
        64 * 1024 * 1024, ge=1024,
        description="in-memory cache (and each worker's near cache) bound on keys + values; least "
                    "recently used go first, a larger value is not kept")


class RateLimitSettings(_Group):
    requests_per_minute: int | None = Field(
        None, ge=1, description="default per-key request limit; null = none")
    tokens_per_minute: int | None = Field(
        None, ge=1, description="default per-key token limit (estimated); null = none")
    fail_policy: Literal["open", "closed"] = Field(
        "open", description="Redis down: open lets requests through (counted), closed answers 429")


class AuditSettings(_Group):
    enabled: bool = Field(True, description="record what the defender changed")
    store_text: bool = Field(True, description="false = store SHA-256 hashes instead of texts")
    stream_maxlen: int = Field(100_000, ge=1, description="Redis stream length cap (approximate)")
    jsonl_path: Path | None = Field(None, description="also append records to this JSONL file")
    buffer_max: int = Field(
        10_000, ge=1, description="records held while Redis is down, then dropped (counted)")
    max_bytes: int = Field(
        32 * 1024 * 1024, ge=1024,
        description="bound on the in-memory audit store and on the records held while Redis is "
                    "down, each; oldest go first")
    max_record_bytes: int = Field(
        64 * 1024, ge=1024,
        description="one record's size cap: longer texts are cut with a marker (and their SHA-256 "
                    "kept), edits and texts past it are counted, not kept")
    page_max_bytes: int = Field(
        4 * 1024 * 1024, ge=1024,
        description="GET /v1/audit: a page ends before this many bytes (next_after continues it)")


class LimitSettings(_Group):
    max_body_bytes: int = Field(
        4 * 1024 * 1024, ge=1024, description="larger request bodies get 413")
    upstream_timeout_s: float = Field(
        120.0, gt=0,
        description="default deadline of target models: a whole answer within it, a stream's first "
                    "chunk and each gap between chunks (504 or an SSE error past it)")
    connect_timeout_s: float = Field(5.0, gt=0, description="connect timeout of target models")
    max_retries: int = Field(
        2, ge=0, le=10,
        description="retries on connection failure and 502/503/504, before any byte is relayed")
    max_connections: int = Field(512, ge=1, description="pooled upstream connections per worker")


class LoggingSettings(_Group):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="one JSON line per request at INFO")
    json_lines: bool | Literal["auto"] = Field(
        "auto",
        description="true: JSON lines; false: plain text; auto: plain text when stderr is a "
                    "terminal, else JSON")
    log_text: bool = Field(False, description="allow prompt texts in DEBUG logs")


class ObservabilitySettings(_Group):
    metrics: bool = Field(True, description="Prometheus metrics at GET /metrics")
    otlp_endpoint: str | None = Field(
        None, description="OpenTelemetry OTLP/HTTP endpoint; unset = no tracing")
    service_name: str = Field("llamos-gateway", description="service name in traces")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LLAMOS_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    server: ServerSettings = Field(default_factory=ServerSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    models: dict[str, ModelSpec] = Field(
        default_factory=dict,
        description=r"alias -> {model, api_base, api_key_env, passthrough, timeout_s, max_retries, "
                    r"extra_headers, request_id_header, gguf_path, responses, defense}; responses "
                    r"= auto \| passthrough \| translate for POST /v1/responses; defense = this "
                    r"model's policy {mode, backend, action, block_threshold, roles, task}")
    defense: DefenseSettings = Field(default_factory=DefenseSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    rate_limit: RateLimitSettings = Field(default_factory=RateLimitSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # YAML values arrive as init arguments (see load_settings); env must win over them,
        # so env comes first.
        return env_settings, init_settings

    def policies(self) -> PolicyBook:
        """The global defense policy and each model alias's overrides."""
        return PolicyBook(self.defense.policy(),
                          {a: m.defense for a, m in self.models.items() if m.defense is not None})

    @property
    def defense_backend(self) -> str:
        """The configured backend, `auto` resolved."""
        return backends.resolve(self.defense.backend, has_model=bool(self.defense.model))


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(root)"
        parts.append(f"{key}: {err['msg']}")
    return "invalid configuration: " + "; ".join(parts)


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings once, at the entry point. Raises `ConfigError` naming the bad key."""
    data = read_yaml(config) if config is not None else {}
    data.update(overrides)
    check_environment(os.environ, Settings)
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from exc
    except SettingsError as exc:  # a value the environment source could not decode
        raise ConfigError(f"invalid configuration: {exc}") from exc


def override(settings: Settings, group: str, values: Mapping[str, Any],
             names: Mapping[str, str] | None = None) -> Settings:
    """`settings` with some keys of one group replaced (command-line flags), validated by the
    same model as the file and the environment. `names` says how to call each key in an error
    (`{"port": "--port"}`)."""
    current = getattr(settings, group)
    try:
        replaced = type(current).model_validate({**current.model_dump(), **values})
    except ValidationError as exc:
        labels = names or {}
        parts = []
        for err in exc.errors():
            key = str(err["loc"][0]) if err["loc"] else ""
            parts.append(f"{labels.get(key, f'{group}.{key}')}: {err['msg']}")
        raise ConfigError("invalid option " + "; ".join(parts)) from exc
    return settings.model_copy(update={group: replaced})
