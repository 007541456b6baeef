"""LLAMOS as a LiteLLM guardrail, for teams that already run the LiteLLM proxy.

`LlamosGuardrail.async_pre_call_hook` purifies the user texts of a chat (or text
completion) request before LiteLLM calls the model. It either calls a LLAMOS gateway's
`POST /v1/purify` (`api_base`, the usual set-up) or runs a `Purifier` in-process
(`purifier=`) through a `Defense` of its own, the pipeline the gateway runs: the same texts
are purified, and under fail-open a tiered backend's lexical pass still goes through.
The LiteLLM proxy `config.yaml` snippet is in `docs/agent.md`.

This is the only module of ours that imports litellm for the guardrail interface; it is
imported only when LiteLLM loads the guardrail.
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from typing import TYPE_CHECKING, Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import httpx  # noqa: E402
from fastapi import HTTPException  # noqa: E402
from litellm.integrations.custom_guardrail import CustomGuardrail  # noqa: E402

from llamos_gateway.defense import (  # noqa: E402
    Defense,
    DefenseMode,
    FailPolicy,
    Purifier,
    substitute,
)
from llamos_gateway.errors import ContentBlocked, DefenseUnavailable  # noqa: E402
from llamos_gateway.upstream import Endpoint  # noqa: E402

if TYPE_CHECKING:
    from litellm.caching.dual_cache import DualCache
    from litellm.proxy._types import UserAPIKeyAuth
    from litellm.types.utils import CallTypesLiteral

log = logging.getLogger(__name__)


class LlamosGuardrail(CustomGuardrail):
    """Purifies user messages before the call. Exactly one of `api_base` (a LLAMOS gateway)
    or `purifier` (in-process) is used; `api_base` wins when both are given.

    `fail_policy` applies when the defense fails: in-process, as in the gateway (open forwards
    what the backend could still do, else the request unchanged); remote, when the LLAMOS
    gateway cannot be reached or answers with an error (open forwards the request
    unchanged). "closed" rejects the request with HTTP 503.
    """

    def __init__(self, *, api_base: str | None = None, api_key: str | None = None,
                 task: str | None = None, llamos_backend: str | None = None,
                 fail_policy: FailPolicy = "open", timeout_s: float = 30.0,
                 purifier: Purifier | None = None,
                 transport: httpx.AsyncBaseTransport | None = None, **kwargs: Any) -> None:
        if api_base is None and purifier is None:
            raise ValueError("LlamosGuardrail needs api_base (a LLAMOS gateway) or a purifier")
        super().__init__(**kwargs)
        self.api_base = api_base.rstrip("/") if api_base else None
        self._api_key = api_key or os.environ.get("LLAMOS_API_KEY")
        self.task = task
        self.llamos_backend = llamos_backend
        self.fail_policy = fail_policy
        self._timeout_s = timeout_s
        # user texts only, whatever the gateway's own roles are
        self._defense = Defense(purifier, fail_policy=fail_policy) if purifier else None
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    async def async_pre_call_hook(self, user_api_key_dict: UserAPIKeyAuth, cache: DualCache,
                                  data: dict[str, Any],
                                  call_type: CallTypesLiteral) -> dict[str, Any]:
        endpoint: Endpoint = ("chat/completions" if isinstance(data.get("messages"), list)
                              else "completions")
        try:
            if self.api_base is None and self._defense is not None:
                policy = replace(self._defense.policy, mode=DefenseMode.ENFORCE,
                                 task=self.task)
                purified, outcome = await self._defense.apply(endpoint, data, policy)
                if outcome.fail_open:
                    log.warning("LLAMOS guardrail failed open: %s", outcome.fail_open)
                return purified
            return await self._remote(endpoint, data)
        except ContentBlocked as exc:
            raise HTTPException(status_code=400, detail={
                "error": exc.message, "code": exc.code}) from exc
        except DefenseUnavailable as exc:
            if self.fail_policy == "closed":
                raise HTTPException(status_code=503, detail={
                    "error": f"LLAMOS defense unavailable: {exc.message}",
                    "code": "defense_unavailable", "reason": exc.reason}) from exc
            log.warning("LLAMOS guardrail failed open: %s", exc.reason)
            return data

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _remote(self, endpoint: Endpoint, data: dict[str, Any]) -> dict[str, Any]:
        """The gateway's `/v1/purify` for the user texts (its `Defense` applies its policy)."""
        slots = Defense.user_slots(endpoint, data)
        if not slots:
            return data
        purified = await self._post([s.text for s in slots])
        return substitute(data, [(s.path, new) for s, new in zip(slots, purified, strict=True)
                                 if new != s.text])

    async def _post(self, texts: list[str]) -> list[str]:
        if self._client is None:
            headers = {"authorization": f"Bearer {self._api_key}"} if self._api_key else {}
            self._client = httpx.AsyncClient(base_url=self.api_base or "", headers=headers,
                                             timeout=self._timeout_s, transport=self._transport)
        body: dict[str, Any] = {"texts": texts}
        if self.task:
            body["task"] = self.task
        if self.llamos_backend:
            body["backend"] = self.llamos_backend
        try:
            response = await self._client.post("/v1/purify", json=body)
        except httpx.TimeoutException as exc:
            raise DefenseUnavailable("LLAMOS gateway timed out", reason="defense_timeout") from exc
        except httpx.TransportError as exc:
            raise DefenseUnavailable(f"LLAMOS gateway unreachable: {type(exc).__name__}",
                                     reason="defense_error") from exc
        if response.status_code != 200:
            raise DefenseUnavailable(f"LLAMOS gateway answered HTTP {response.status_code}",
                                     reason="defense_error")
        try:
            answer = response.json()
            purified = [str(item["purified"]) for item in answer["results"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise DefenseUnavailable("LLAMOS gateway reply unusable",
                                     reason="defense_unparseable") from exc
        if answer.get("verdict") == "blocked":  # the gateway's policy says block
            raise ContentBlocked(f"request blocked by the LLAMOS defense (suspicion score "
                                 f"{answer.get('score')})")
        if len(purified) != len(texts):
            raise DefenseUnavailable("LLAMOS gateway returned the wrong number of texts",
                                     reason="defense_unparseable")
        return purified
