"""Every entry point runs the process's one `Defense`: `/v1/purify` builds none of its own."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from llamos_gateway.defense import Defense


async def test_purify_endpoint_uses_the_shared_defense(api: httpx.AsyncClient,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[object] = []
    build = Defense.__init__

    def counted(self: Defense, *args: Any, **kwargs: Any) -> None:
        made.append(self)
        build(self, *args, **kwargs)

    monkeypatch.setattr(Defense, "__init__", counted)
    for _ in range(2):
        reply = await api.post("/v1/purify", json={"texts": ["a bad one", "bad too"]})
        assert reply.status_code == 200
        assert [r["purified"] for r in reply.json()["results"]] == ["[clean] a good one",
                                                                     "[clean] good too"]
    chat = await api.post("/v1/chat/completions", json={
        "model": "fake", "messages": [{"role": "user", "content": "bad"}]})
    assert chat.status_code == 200
    assert made == []  # the app's one instance served them all
