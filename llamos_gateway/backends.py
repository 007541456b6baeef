"""The defense backends, each defined once: its name, how it is stacked, whether it needs a
defense model, whether its results may be cached, and which `defense.*` keys it reads.

Settings validate `defense.backend` against `names()`, the CLI commands, the evaluation and
the arena take their choices from here, and the composition root (`wiring`) builds each
backend with `Backend.build(parts)`. A new backend is one more entry in `BACKENDS`, with a
factory that composes it from `Parts` (add a field there for a new shared part).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llamos_gateway.defense.protocol import PassthroughPurifier, Purifier
from llamos_gateway.defense.service import Defense
from llamos_gateway.defense.tiered import TieredPurifier
from llamos_gateway.errors import ConfigError
from llamos_gateway.lexical import LexicalPurifier
from llamos_gateway.lexical.scope import UnknownWordScope

if TYPE_CHECKING:
    from llamos_gateway.settings import DefenseSettings
    from llamos_gateway.upstream import Upstream

AUTO = "auto"  # llamos when a defense model is set, else lexical


@dataclass(frozen=True, slots=True)
class Parts:
    """What a backend is built from. The composition root provides them; each callable
    builds its part on first use and shares it (one lexicon, one in-flight bound)."""

    defense: DefenseSettings
    lexical: Callable[[], Purifier]  # the lexical purifier
    agent: Callable[[], Purifier]    # the LLAMOS agent, long texts segmented; needs a model
    # the upstream and model name of `defense.ranked_scorer_model` (ranked, completions scorer)
    completions: Callable[[], tuple[Upstream, str]] | None = None


@dataclass(frozen=True, slots=True)
class Backend:
    name: str
    summary: str
    build: Callable[[Parts], Purifier]
    needs_model: bool = False  # needs `defense.model` (a defense LLM)
    cacheable: bool = True     # its results go through the purification cache
    keys: tuple[str, ...] = ()  # the `defense.*` settings it reads


_AGENT_KEYS = ("model", "api_base", "api_key_env", "task", "prompts_dir", "examples",
               "timeout_s", "max_retries", "max_edit_ratio", "max_length_ratio",
               "idempotence_check", "long_text", "max_chars", "max_inflight", "fail_policy")


def _tiered(parts: Parts) -> Purifier:
    screen = parts.lexical()
    scope = None
    if parts.defense.tiered_scope == "words":
        if not isinstance(screen, LexicalPurifier):
            raise ConfigError("defense.tiered_scope: words needs the lexical purifier's lexicon")
        scope = UnknownWordScope(screen.lexicon)
    return TieredPurifier(screen=screen, agent=parts.agent(),
                          always=parts.defense.tiered_always, scope=scope)


_RANKED_KEYS = ("screen_threshold", "ranked_scorer", "ranked_scorer_model", "ranked_scorer_prefix",
                "ranked_margin_known",
                "ranked_margin_unknown", "ranked_candidates", "ranked_words")


def _ranked(parts: Parts) -> Purifier:
    from llamos_gateway.ranking.setup import build_ranked  # the n-gram model: on first use

    return build_ranked(parts.defense, parts.lexical(), parts.completions)


BACKENDS: tuple[Backend, ...] = (
    Backend("passthrough", "returns every text unchanged (a baseline)",
            lambda parts: PassthroughPurifier(), cacheable=False),
    Backend("lexical", "the offline sentinel: look-alikes, invisibles, typos, junk; scores "
            "how attacked a text looks", lambda parts: parts.lexical(),
            keys=("screen_threshold",)),
    Backend("llamos", "the LLAMOS agent: a defense LLM rewrites each text",
            lambda parts: parts.agent(), needs_model=True, keys=_AGENT_KEYS),
    Backend("tiered", "the lexical pass always, the agent only for texts that look attacked",
            _tiered, needs_model=True,
            keys=("screen_threshold", "tiered_always", "tiered_scope", *_AGENT_KEYS)),
    Backend("ranked", "the lexical pass, then candidate repairs of unlikely words ranked by a "
            "language model (defense.ranked_scorer)", _ranked, keys=_RANKED_KEYS),
)
_BY_NAME = {b.name: b for b in BACKENDS}


def names() -> tuple[str, ...]:
    return tuple(_BY_NAME)


def get(name: str) -> Backend:
    if name not in _BY_NAME:
        raise ConfigError(f"defense.backend: unknown backend '{name}' "
                          f"(backends: {', '.join(names())})")
    return _BY_NAME[name]


def resolve(name: str, *, has_model: bool) -> str:
    """The backend `name` stands for (`auto` resolves on whether a defense model is set)."""
    if name == AUTO:
        return "llamos" if has_model else "lexical"
    return name


def available(*, has_model: bool) -> tuple[str, ...]:
    """The backends a configuration can run (the agent ones only with a defense model)."""
    return tuple(b.name for b in BACKENDS if has_model or not b.needs_model)


def defense_for(defense: DefenseSettings, served: Mapping[str, Purifier] | Purifier) -> Defense:
    """The `Defense` over `served` (the configured backend first) with the configured policy:
    roles, embeddings, failure policy, concurrency, default task."""
    return Defense(served, roles=defense.roles, purify_embeddings=defense.purify_embeddings,
                   fail_policy=defense.fail_policy, concurrency=defense.concurrency,
                   task=defense.task, policy=defense.policy())


def build_offline(name: str, defense: DefenseSettings) -> Purifier:
    """A backend that needs no defense model, built without opening any client."""
    from llamos_gateway.lexical.purifier import LexicalPurifier  # loads the lexicon: on use

    def no_model() -> Purifier:
        raise ConfigError(f"defense.backend: {name} needs a defense model")

    return get(name).build(Parts(
        defense=defense, agent=no_model,
        lexical=lambda: LexicalPurifier(screen_threshold=defense.screen_threshold)))
