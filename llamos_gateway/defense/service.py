"""`Defense`: the one defense pipeline of a process.

Every entry point goes through one shared instance: the chat routes (`apply`, through
`Gateway.handle`), `POST /v1/purify` and `llamos purify` (`purify`), the LiteLLM guardrail
(`apply`), and the evaluation and the arena (`purify_each`). It alone decides which texts are
purified (`text_slots`), applies the mode (enforce / shadow / off) and the failure policy,
bounds the concurrency and does the bookkeeping (`DefenseOutcome`). Knows nothing about HTTP.

Failure policy: a backend that cannot purify raises `DefenseUnavailable`. Under fail-open
(and always in shadow mode) the text goes on as the backend could still make it (tiered's
lexical pass, its `partial` result) or else unchanged, and the outcome names the reason
(`fail_open`). Under fail-closed (enforce mode) `apply` and `purify` raise it (the API
answers 503); `purify_each` reports the text as refused (`fail_closed`) and goes on.

Verdicts and actions: every outcome carries the request's `Policy` (`policy.py`), so the
suspicion score (the highest of its texts), the verdict (clean / repaired / suspicious /
blocked) and what goes on (`forwarded`) are decided here and nowhere else. `apply` refuses a
blocked request (`ContentBlocked`, which carries the outcome for the audit trail); `purify`
and `purify_each` report the verdict and leave the answer to their entry point.

Concurrency: `concurrency` texts of one call (a request's text parts, a `/v1/purify` batch,
an evaluation batch) are purified at once; the defense model calls of the whole worker are
bounded by the agent's own `defense.max_inflight`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from llamos_gateway.defense.policy import Policy, Verdict
from llamos_gateway.defense.protocol import (
    DefenseMode,
    FailPolicy,
    Purifier,
    PurifyRequest,
    PurifyResult,
)
from llamos_gateway.defense.slots import TextSlot, substitute, text_slots
from llamos_gateway.errors import ContentBlocked, DefenseUnavailable, InvalidRequest
from llamos_gateway.upstream import Endpoint

log = logging.getLogger(__name__)

FAIL_OPEN = "fail_open"
_USER = frozenset({"user"})
LOOP_SLICE_S = 0.005  # the longest a request's purification holds the loop between turns


class Turns:
    """Shares the event loop between synchronous pieces of work: `pause()` returns at once
    until `slice_s` has passed since the loop last had a turn, then yields to it (it polls
    its sockets and runs the other tasks) before going on. Tasks sharing one `Turns` take
    one yield between them: the first to find the slice over yields, the others wait for
    it."""

    def __init__(self, slice_s: float) -> None:
        self._slice_s = slice_s
        self._since = time.perf_counter()
        self._turn: asyncio.Event | None = None

    async def pause(self) -> None:
        if time.perf_counter() - self._since < self._slice_s:
            return
        if self._turn is not None:  # another task is yielding: go on after it
            await self._turn.wait()
            return
        self._turn = turn = asyncio.Event()
        try:
            await asyncio.sleep(0)  # the loop's turn: other callbacks, then a poll
        finally:
            self._since = time.perf_counter()
            self._turn = None
            turn.set()


@dataclass(frozen=True, slots=True)
class DefenseOutcome:
    """What the defense did to one request (or one batch, or one text)."""

    mode: DefenseMode
    backend: str
    results: tuple[PurifyResult, ...] = ()
    purify_ms: float = 0.0
    fail_open: str | None = None    # the failure reason, when the texts went on regardless
    failed: bool = False
    fail_closed: str | None = None  # `purify_each` only: the reason the text was refused
    policy: Policy = Policy()

    @property
    def score(self) -> float:
        """The suspicion score of the request: the highest of its texts."""
        return max((r.score for r in self.results), default=0.0)

    @property
    def verdicts(self) -> tuple[Verdict, ...]:
        """One verdict per result, under this outcome's policy."""
        policy = self.policy
        return tuple(policy.verdict(r.score, r.changed) for r in self.results)

    @property
    def verdict(self) -> Verdict:
        """The most severe verdict of the texts: the request's score (the highest) and
        whether any text changed decide it, without a verdict per text."""
        return self.policy.verdict(self.score, self.changed)

    @property
    def blocked(self) -> bool:
        return self.verdict is Verdict.BLOCKED

    @property
    def changed(self) -> bool:
        return any(r.changed for r in self.results)

    @property
    def prompt_version(self) -> str | None:
        return next((r.prompt_version for r in self.results if r.prompt_version), None)

    @property
    def cache_hit(self) -> bool:
        return bool(self.results) and all(r.cache_hit for r in self.results)

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(code for r in self.results for code in r.reasons))

    @property
    def failure(self) -> str | None:
        """The reason the defense failed (fail-open or fail-closed), None when it did not."""
        return self.fail_open or self.fail_closed

    def forwarded(self, texts: Sequence[str]) -> list[str]:
        """What goes on for `texts` (the texts this outcome is for): the purified texts in
        enforce mode, the originals in shadow and off mode, under action flag, or when
        nothing could be done."""
        if not self.policy.forwards_purified or len(self.results) != len(texts):
            return list(texts)
        return [r.purified for r in self.results]

    def per_text(self, texts: Sequence[str]) -> list[PurifyResult]:
        """One result per text: the results, or (when the defense failed with nothing to
        offer) each text unchanged, with the failure as its reason and `fail_open` fallback."""
        if len(self.results) == len(texts):
            return list(self.results)
        reasons = (self.failure,) if self.failure else ()
        return [PurifyResult(original=t, purified=t, backend=self.backend, reasons=reasons,
                             fallback=FAIL_OPEN if self.fail_open else None) for t in texts]

    def headers(self) -> dict[str, str]:
        out = {"x-llamos-defense": self.mode.value,
               "x-llamos-changed": "true" if self.changed else "false",
               "x-llamos-purify-ms": f"{self.purify_ms:.3f}"}
        if self.prompt_version:
            out["x-llamos-prompt"] = self.prompt_version
        if self.fail_open:
            out["x-llamos-fail-open"] = self.fail_open
        if self.results and self.mode is not DefenseMode.OFF:
            out["x-llamos-cache"] = "hit" if self.cache_hit else "miss"
        if self.mode is not DefenseMode.OFF:
            out["x-llamos-score"] = f"{self.score:.4f}"
            out["x-llamos-verdict"] = self.verdict.value
        return out

    def refuse(self) -> ContentBlocked:
        """The error that refuses a blocked request, carrying this outcome."""
        return ContentBlocked(
            f"request blocked by the LLAMOS defense: suspicion score {self.score:.2f} is at or "
            f"above the block threshold {self.policy.block_threshold:.2f}", outcome=self,
            headers=self.headers())


def fail_open_result(exc: DefenseUnavailable) -> PurifyResult | None:
    """The backend's partial result to forward under fail-open, marked with the failure."""
    partial = exc.partial
    if not isinstance(partial, PurifyResult):
        return None
    return replace(partial, extra={**partial.extra, FAIL_OPEN: exc.reason})


def failed_open(results: Sequence[PurifyResult]) -> str | None:
    """The failure reason when any of `results` is a fail-open partial result."""
    return next((str(r.extra[FAIL_OPEN]) for r in results if FAIL_OPEN in r.extra), None)


class Defense:
    """The backends this process can run, by name (the first one listed, or `default`, is the
    configured one), and the policy that every entry point shares."""

    def __init__(self, backends: Mapping[str, Purifier] | Purifier, *,
                 default: str | None = None, roles: Sequence[str] = ("user",),
                 purify_embeddings: bool = False, fail_policy: FailPolicy = "open",
                 concurrency: int = 8, task: str | None = None,
                 policy: Policy | None = None) -> None:
        if not isinstance(backends, Mapping):
            backends = {backends.name: backends}
        self.backends: dict[str, Purifier] = dict(backends)
        self.backend = default or next(iter(self.backends))
        self.purifier = self.backends[self.backend]
        self.fail_policy = fail_policy
        self.concurrency = concurrency
        self.task = task
        self._embeddings = purify_embeddings
        # the base policy: what a request gets when no model, key or header says otherwise
        self.policy = policy or Policy(roles=frozenset(roles), task=task)

    def choose(self, backend: str | None) -> Purifier:
        """The configured purifier, or another backend this process built."""
        if backend is None:
            return self.purifier
        if backend not in self.backends:
            raise InvalidRequest(f"backend '{backend}' is not enabled on this gateway "
                                 f"(enabled: {', '.join(sorted(self.backends))})",
                                 param="backend")
        return self.backends[backend]

    def slots(self, endpoint: Endpoint, body: dict[str, Any],
              policy: Policy | None = None) -> list[TextSlot]:
        """The texts of a request body this defense purifies (the policy's roles, embeddings
        or not)."""
        return text_slots(endpoint, body, (policy or self.policy).roles, self._embeddings)

    @staticmethod
    def user_slots(endpoint: Endpoint, body: dict[str, Any]) -> list[TextSlot]:
        """The texts a defense with the default roles purifies (for a client of a remote
        gateway's `/v1/purify`, which purifies them there)."""
        return text_slots(endpoint, body, _USER, False)

    def fails_open(self, mode: DefenseMode) -> bool:
        return not (self.fail_policy == "closed" and mode is DefenseMode.ENFORCE)

    async def apply(self, endpoint: Endpoint, body: dict[str, Any],
                    policy: Policy | None = None) -> tuple[dict[str, Any], DefenseOutcome]:
        """A request body with its texts purified (as the policy says), and what was done.
        Raises `ContentBlocked` when the verdict is `blocked`."""
        policy = policy or self.policy
        mode = policy.mode
        if mode is DefenseMode.OFF:
            return body, DefenseOutcome(mode=mode, backend=self.backend, policy=policy)
        purifier = self.choose(policy.backend)
        slots = self.slots(endpoint, body, policy)
        if not slots:
            return body, DefenseOutcome(mode=mode, backend=purifier.name, policy=policy)
        outcome = await self._together(purifier, slots, policy)
        if outcome.blocked:
            raise outcome.refuse()
        if not policy.forwards_purified or not outcome.changed:
            return body, outcome
        changes = [(s.path, r.purified) for s, r in zip(slots, outcome.results, strict=True)
                   if r.changed]
        return substitute(body, changes), outcome

    async def purify(self, texts: Sequence[str], *, task: str | None = None,
                     backend: str | None = None, mode: DefenseMode = DefenseMode.ENFORCE,
                     policy: Policy | None = None) -> DefenseOutcome:
        """A batch of texts as one unit, like the texts of one request: the first failure
        that leaves nothing to forward decides for all of them. `task`, `backend` and `mode`
        override the policy's (the base policy when none is given). A blocked verdict is
        reported, not raised."""
        chosen = replace(policy or self.policy, mode=mode)
        if task is not None:
            chosen = replace(chosen, task=task)
        if backend is not None:
            chosen = replace(chosen, backend=backend)
        slots = [TextSlot((i,), text, "user") for i, text in enumerate(texts)]
        return await self._together(self.choose(chosen.backend), slots, chosen)

    async def purify_each(self, texts: Sequence[str], *, task: str | None = None,
                          purifier: Purifier | None = None,
                          mode: DefenseMode = DefenseMode.ENFORCE) -> list[DefenseOutcome]:
        """Each text on its own (one outcome each, in order): a failure never stops the
        others. `purifier` stands in for the configured one (the arena's learning defender)."""
        chosen = purifier or self.purifier
        policy = replace(self.policy, mode=mode, task=task or self.policy.task)
        gate = asyncio.Semaphore(self.concurrency)

        async def one(text: str) -> DefenseOutcome:
            async with gate:
                return await self._alone(chosen, text, policy)

        return list(await asyncio.gather(*(one(t) for t in texts)))

    async def _alone(self, purifier: Purifier, text: str, policy: Policy) -> DefenseOutcome:
        try:
            return await self._together(purifier, [TextSlot((0,), text, "user")], policy)
        except DefenseUnavailable as exc:  # fail-closed: this text is refused, others go on
            return DefenseOutcome(mode=policy.mode, backend=purifier.name, failed=True,
                                  fail_closed=exc.reason, policy=policy)

    async def _together(self, purifier: Purifier, slots: Sequence[TextSlot],
                        policy: Policy) -> DefenseOutcome:
        started = time.perf_counter()
        mode = policy.mode
        fail_open = self.fails_open(mode)
        try:
            results = await self._purify_all(purifier, slots, policy.task or self.task,
                                              fail_open)
        except DefenseUnavailable as exc:
            if not fail_open:
                raise
            return DefenseOutcome(mode=mode, backend=purifier.name, failed=True,
                                  purify_ms=(time.perf_counter() - started) * 1000.0,
                                  fail_open=exc.reason, policy=policy)
        reason = failed_open(results)
        return DefenseOutcome(mode=mode, backend=purifier.name, results=tuple(results),
                              purify_ms=(time.perf_counter() - started) * 1000.0,
                              fail_open=reason, failed=reason is not None, policy=policy)

    async def _purify_all(self, purifier: Purifier, slots: Sequence[TextSlot],
                          task: str | None, fail_open: bool) -> list[PurifyResult]:
        """One result per slot. With `fail_open`, a backend's partial result stands in for a
        failed text (see `fail_open_result`); without one the failure propagates and cancels
        the other texts' purification.

        `concurrency` workers take the slots in order. A text a backend purifies without
        waiting (the lexical backend on a short text, a cache hit) holds the event loop, so
        the workers give the loop a turn every `LOOP_SLICE_S` (`Turns`): a request of
        thousands of small texts never stalls the others (`/healthz`, streams) for longer."""
        if len(slots) == 1:
            return [await self._purify_one(purifier, slots[0], task, fail_open)]
        results: list[PurifyResult | None] = [None] * len(slots)
        pending = iter(enumerate(slots))
        turns = Turns(LOOP_SLICE_S)

        async def worker() -> None:
            for index, slot in pending:
                await turns.pause()
                results[index] = await self._purify_one(purifier, slot, task, fail_open)

        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(min(self.concurrency, len(slots))):
                    group.create_task(worker())
        except ExceptionGroup as failed:
            raise failed.exceptions[0] from None  # _purify_one raises only DefenseUnavailable
        return [r for r in results if r is not None]

    async def _purify_one(self, purifier: Purifier, slot: TextSlot, task: str | None,
                          fail_open: bool) -> PurifyResult:
        try:
            return await purifier.purify(PurifyRequest(slot.text, task=task, role=slot.role))
        except DefenseUnavailable as exc:
            partial = fail_open_result(exc) if fail_open else None
            if partial is None:
                raise
            return partial
        except Exception as exc:
            # A defect in a backend must not turn into an unhandled 500 on the request path:
            # it follows the same fail-open/closed policy as a model outage, and is logged.
            log.exception("purifier %s failed", purifier.name)
            raise DefenseUnavailable(f"defense backend {purifier.name} failed",
                                     reason="defense_internal_error") from exc
