"""The lexical backend in the real gateway: the official `openai` SDK -> uvicorn -> `local/echo`,
which answers with exactly the text it received."""

from __future__ import annotations

from collections.abc import Callable

import openai

from llamos_gateway.settings import Settings

ATTACKED = "thе mоvie is a g00d , sweet ride\u200b . :)"  # Cyrillic e and o, leet, ZWSP, junk
CLEAN = "the movie is a good , sweet ride ."


def test_a_homoglyph_laden_prompt_arrives_clean(settings_for: Callable[..., Settings],
                                                 serve_gateway: Callable[..., str]) -> None:
    base_url = serve_gateway(settings_for(defense={"backend": "lexical"}))
    client = openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=10)
    raw = client.chat.completions.with_raw_response.create(
        model="local/echo", messages=[{"role": "user", "content": ATTACKED}])
    assert raw.parse().choices[0].message.content == CLEAN
    assert raw.headers["x-llamos-changed"] == "true"


def test_clean_prompt_is_not_changed(settings_for: Callable[..., Settings],
                                     serve_gateway: Callable[..., str]) -> None:
    base_url = serve_gateway(settings_for(defense={"backend": "lexical"}))
    client = openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=10)
    raw = client.chat.completions.with_raw_response.create(
        model="local/echo", messages=[{"role": "user", "content": CLEAN}])
    assert raw.parse().choices[0].message.content == CLEAN
    assert raw.headers["x-llamos-changed"] == "false"
