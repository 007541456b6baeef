"""LLAMOS as a LiteLLM guardrail, for teams that already run the LiteLLM proxy.

`LlamosGuardrail.async_pre_call_hook` purifies the user texts of a chat (or text
completion) request before LiteLLM calls the model. It either calls a LLAMOS gateway's
`POST /v1/purify` (`api_base`, the usual set-up) or an in-process `Purifier` (`purifier=`).
The LiteLLM proxy `config.yaml` snippet is in `docs/agent.md`.

This is the only module of ours that imports litellm for the guardrail interface; it is
imported only when LiteLLM loads the guardrail.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import TYPE_CHECKING, Any, Literal

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import httpx  # noqa: E402
from fastapi import HTTPException  # noqa: E402
from litellm.integrations.custom_guardrail import CustomGuardrail  # noqa: E402

from llamos_gateway.errors import DefenseUnavailable  # noqa: E402
from llamos_gateway.purifier import Purifier, PurifyRequest  # noqa: E402

if TYPE_CHECKING:
    from litellm.caching.dual_cache import DualCache
    from litellm.proxy._types import UserAPIKeyAuth
    from litellm.types.utils import CallTypesLiteral

log = logging.getLogger(__name__)

# (message index, part index or None, text); prompt texts use message index -1.
Slot = tuple[int, int | None, str]


class LlamosGuardrail(CustomGuardrail):
    """Purifies user messages before the call. Exactly one of `api_base` (a LLAMOS gateway)
    or `purifier` (in-process) is used; `api_base` wins when both are given.

    `fail_policy` applies when the LLAMOS gateway cannot be reached or answers with an
    error: "open" forwards the request unchanged, "closed" rejects it with HTTP 503.
    """

    def __init__(self, *, api_base: str | None = None, api_key: str | None = None,
                 task: str | None = None, llamos_backend: str | None = None,
                 fail_policy: Literal["open", "closed"] = "open", timeout_s: float = 30.0,
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
        self._purifier = purifier
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    async def async_pre_call_hook(self, user_api_key_dict: UserAPIKeyAuth, cache: DualCache,
                                  data: dict[str, Any],
                                  call_type: CallTypesLiteral) -> dict[str, Any]:
        slots = _slots(data)
        if not slots:
            return data
        try:
            purified = await self._purify([text for _, _, text in slots])
        except DefenseUnavailable as exc:
            if self.fail_policy == "closed":
                raise HTTPException(status_code=503, detail={
                    "error": f"LLAMOS defense unavailable: {exc.message}",
                    "code": "defense_unavailable", "reason": exc.reason}) from exc
            log.warning("LLAMOS guardrail failed open: %s", exc.reason)
            return data
        return _substitute(data, slots, purified)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _purify(self, texts: list[str]) -> list[str]:
        if self.api_base is not None:
            return await self._remote(texts)
        assert self._purifier is not None
        purifier = self._purifier
        results = await asyncio.gather(
            *(purifier.purify(PurifyRequest(t, task=self.task)) for t in texts))
        return [r.purified for r in results]

    async def _remote(self, texts: list[str]) -> list[str]:
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
            results = response.json()["results"]
            purified = [str(item["purified"]) for item in results]
        except (ValueError, KeyError, TypeError) as exc:
            raise DefenseUnavailable("LLAMOS gateway reply unusable",
                                     reason="defense_unparseable") from exc
        if len(purified) != len(texts):
            raise DefenseUnavailable("LLAMOS gateway returned the wrong number of texts",
                                     reason="defense_unparseable")
        return purified


def _slots(data: dict[str, Any]) -> list[Slot]:
    """The user texts of a request: string contents and text parts of user messages, or the
    prompt of a text completion."""
    messages = data.get("messages")
    if isinstance(messages, list):
        slots: list[Slot] = []
        for i, message in enumerate(messages):
            if not isinstance(message, dict) or message.get("role") != "user":
                continue
            content = message.get("content")
            if isinstance(content, str):
                slots.append((i, None, content))
            elif isinstance(content, list):
                slots.extend((i, j, part["text"]) for j, part in enumerate(content)
                             if isinstance(part, dict) and part.get("type") == "text"
                             and isinstance(part.get("text"), str))
        return slots
    prompt = data.get("prompt")
    return [(-1, None, prompt)] if isinstance(prompt, str) else []


def _substitute(data: dict[str, Any], slots: list[Slot], purified: list[str]) -> dict[str, Any]:
    out = dict(data)
    if slots and slots[0][0] == -1:
        out["prompt"] = purified[0]
        return out
    messages = [dict(m) if isinstance(m, dict) else m for m in data["messages"]]
    for (i, j, text), new in zip(slots, purified, strict=True):
        if new == text:
            continue
        if j is None:
            messages[i]["content"] = new
        else:
            parts = messages[i]["content"] = list(messages[i]["content"])
            parts[j] = {**parts[j], "text": new}
    out["messages"] = messages
    return out
