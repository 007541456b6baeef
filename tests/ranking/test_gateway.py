"""The ranked backend in the real gateway: the official `openai` SDK -> uvicorn -> `local/echo`,
which answers with exactly the text it received."""

from __future__ import annotations

from collections.abc import Callable

import openai

from llamos_gateway.settings import Settings


def test_a_god_movie_arrives_as_a_good_movie(settings_for: Callable[..., Settings],
                                             serve_gateway: Callable[..., str]) -> None:
    base_url = serve_gateway(settings_for(defense={"backend": "ranked"}))
    client = openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=60)
    raw = client.chat.completions.with_raw_response.create(
        model="local/echo", messages=[{"role": "user", "content": "a god movie"}])
    assert raw.parse().choices[0].message.content == "a good movie"
    assert raw.headers["x-llamos-changed"] == "true"
    clean = client.chat.completions.create(
        model="local/echo", messages=[{"role": "user", "content": "a good movie"}])
    assert clean.choices[0].message.content == "a good movie"
