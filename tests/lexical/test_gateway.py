"""The lexical backend in the real gateway: the official `openai` SDK -> uvicorn -> `local/echo`,
which answers with exactly the text it received."""

from __future__ import annotations

from collections.abc import Callable

import httpx
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


# Stored order "Gvie", shown "Give" (an override inside isolates); "d \b" erases the space it
# follows, as it does on screen; a word stored reversed inside RLO ... PDF.
_SWAP = "\u202d\u2066\u202e\u2066v\u2069\u2066i\u2069\u202c\u2069\u202c"
REORDERED = f"G{_SWAP}e me a d \x08etailed \u202eweiver\u202c of this fi\x7fX\x7flm"
AS_READ = "Give me a detailed review of this film"


def test_a_bidi_reordered_backspace_laden_prompt_arrives_as_the_reader_saw_it(
        settings_for: Callable[..., Settings], serve_gateway: Callable[..., str]) -> None:
    base_url = serve_gateway(settings_for(defense={"backend": "lexical"}))
    client = openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=10)
    raw = client.chat.completions.with_raw_response.create(
        model="local/echo", messages=[{"role": "user", "content": REORDERED}])
    assert raw.parse().choices[0].message.content == AS_READ
    assert raw.headers["x-llamos-changed"] == "true"


def test_purify_reports_rules_and_protected_spans(
        settings_for: Callable[..., Settings], serve_gateway: Callable[..., str]) -> None:
    base_url = serve_gateway(settings_for(defense={"backend": "lexical"}))
    text = "run `pip instal x` then the \u202eeivom\u202c at https://exmaple.com"
    response = httpx.post(f"{base_url}/purify", json={"texts": [text]}, timeout=10)
    assert response.status_code == 200, response.text
    (item,) = response.json()["results"]
    assert item["purified"] == "run `pip instal x` then the movie at https://exmaple.com"
    assert [d["rule"] for d in item["diff"]] == ["bidi"]
    protected = {(p["kind"], text[p["start"]:p["end"]]) for p in item["protected"]}
    assert protected == {("code", "`pip instal x`"), ("url", "https://exmaple.com")}
