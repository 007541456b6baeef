"""The defense policy of one request, and the one place its layers are resolved.

A `Policy` says how the defense treats a request: the mode, the backend, which roles are
purified, the task hint, and what happens to a text that looks attacked (`action` above
`block_threshold`). The global `defense.*` settings give the base policy; a model alias
(`models.<alias>.defense`), the API key (`auth.api_keys[].defense`) and the request headers
(`x-llamos-defense`, `x-llamos-task`) may each override some of it, in that order of
precedence, lowest first: global < model < key < header. `PolicyBook.resolve` is the only
code that combines them; the gateway, the Responses route and `llamos models` all ask it.

Verdicts (`verdict`): from the suspicion score (the lexical screen's, or the agent's) and
whether the purifier changed anything, the most severe of

    blocked     score >= block_threshold, action block, enforce mode: the request is refused
    suspicious  score >= block_threshold otherwise (action purify or flag, or shadow mode)
    repaired    the purifier changed the text, score below the threshold
    clean       nothing changed, score below the threshold
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from llamos_gateway.defense.protocol import DefenseMode, Task

Role = Literal["user", "tool", "system", "assistant"]

# Chosen from bench/verdict_bench.py: see docs/operations.md ("Verdicts and blocking").
DEFAULT_BLOCK_THRESHOLD = 0.9


class Action(StrEnum):
    """What the defense does with a text whose score reaches `block_threshold`."""

    PURIFY = "purify"  # forward the purified text (the default)
    FLAG = "flag"      # forward the original text, record the verdict only
    BLOCK = "block"    # refuse the request (400 content_blocked)


class Verdict(StrEnum):
    """From the least to the most severe."""

    CLEAN = "clean"
    REPAIRED = "repaired"
    SUSPICIOUS = "suspicious"
    BLOCKED = "blocked"


@dataclass(frozen=True, slots=True)
class Policy:
    """How the defense treats one request, every layer resolved. `backend` None = the
    process's configured backend."""

    mode: DefenseMode = DefenseMode.ENFORCE
    action: Action = Action.PURIFY
    block_threshold: float = DEFAULT_BLOCK_THRESHOLD
    roles: frozenset[str] = frozenset({"user"})
    task: str | None = None
    backend: str | None = None

    def verdict(self, score: float, changed: bool) -> Verdict:
        if score >= self.block_threshold:
            if self.action is Action.BLOCK and self.mode is DefenseMode.ENFORCE:
                return Verdict.BLOCKED
            return Verdict.SUSPICIOUS
        return Verdict.REPAIRED if changed else Verdict.CLEAN

    @property
    def forwards_purified(self) -> bool:
        """Whether purified texts go on (enforce mode, action purify or block)."""
        return self.mode is DefenseMode.ENFORCE and self.action is not Action.FLAG

    def as_dict(self) -> dict[str, Any]:
        return {"mode": self.mode.value, "backend": self.backend, "action": self.action.value,
                "block_threshold": self.block_threshold, "roles": sorted(self.roles),
                "task": self.task}


class PolicyOverride(BaseModel):
    """Some keys of the defense policy, set for one model alias, one API key or one request;
    unset keys keep the value of the layer below."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: DefenseMode | None = None
    backend: str | None = Field(None, description="a backend this gateway builds")
    action: Action | None = None
    block_threshold: float | None = Field(None, ge=0.0, le=1.0)
    roles: list[Role] | None = None
    task: Task | None = None

    def over(self, policy: Policy) -> Policy:
        """`policy` with this layer's keys replaced."""
        changes: dict[str, Any] = {k: v for k, v in self.model_dump(exclude_none=True).items()}
        if "roles" in changes:
            changes["roles"] = frozenset(changes["roles"])
        if "mode" in changes:
            changes["mode"] = DefenseMode(changes["mode"])
        if "action" in changes:
            changes["action"] = Action(changes["action"])
        return replace(policy, **changes) if changes else policy


@dataclass(frozen=True, slots=True)
class PolicyBook:
    """The global policy and the per-model overrides: resolves the policy of a request."""

    base: Policy
    models: Mapping[str, PolicyOverride]

    def for_model(self, model: str | None) -> Policy:
        """The effective policy of a model alias, before any key or header."""
        layer = self.models.get(model) if model is not None else None
        return layer.over(self.base) if layer is not None else self.base

    def resolve(self, model: str | None, *, key: PolicyOverride | None = None,
                header: PolicyOverride | None = None) -> Policy:
        """Precedence, highest first: header, key, model, global."""
        policy = self.for_model(model)
        for layer in (key, header):
            if layer is not None:
                policy = layer.over(policy)
        return policy

    def backends(self) -> set[str]:
        """The backends the overrides name (each must be built by the process)."""
        named = {self.base.backend, *(o.backend for o in self.models.values())}
        return {b for b in named if b is not None}
