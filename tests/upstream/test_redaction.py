"""The Redactor (secrets out of relayed and logged text) and the event-stream check."""

from __future__ import annotations

import pytest

from llamos_gateway.errors import UpstreamInvalidResponse
from llamos_gateway.upstream.redaction import Redactor
from llamos_gateway.upstream.sse import EventStreamCheck

KEY = "sk-proj-0123456789abcdef"


def test_secrets_are_masked_before_the_cut() -> None:
    redact = Redactor([KEY, None, "1"])
    text = "x" * 190 + KEY  # a cut at 200 would leave half the key
    assert KEY[:10] not in redact.text(text, 200)
    assert redact.text(f"key={KEY}; again {KEY}") == "key=***; again ***"
    assert redact.field(None) is None
    assert redact.field(123) == "123"
    assert redact.text("org 1 is fine") == "org 1 is fine"  # too short to be a secret


def test_any_bearer_token_is_masked_in_error_text_but_not_in_relayed_bytes() -> None:
    redact = Redactor()
    assert redact.text("got Authorization: Bearer abcdefgh12345 from you") == \
        "got Authorization: Bearer *** from you"
    assert redact.text("missing bearer token") == "missing bearer token"
    model_text = b'{"content": "the bearer bonds were 12345678 dollars"}'
    assert redact.data(model_text) == model_text  # a model's words are left alone
    assert Redactor([KEY]).data(f'{{"k": "{KEY}"}}'.encode()) == b'{"k": "***"}'


def test_the_check_returns_whole_lines_and_keeps_the_good_ones_before_a_bad_one() -> None:
    check = EventStreamCheck("up")
    assert check.feed(b'data: {"a"') == b""
    assert check.feed(b': 1}\n\nda') == b'data: {"a": 1}\n\n'
    assert check.feed(b'ta: {"b": 2}\ngarbage\ndata: {}\n') == b'data: {"b": 2}\n'
    assert check.error is not None and "not a server-sent event" in check.error.message


@pytest.mark.parametrize("stream", [b'data: {"a": 1}\n\n', b"data: [DONE", b"data: {oops\n"])
def test_a_stream_must_end_with_done(stream: bytes) -> None:
    check = EventStreamCheck("up")
    check.feed(stream)
    with pytest.raises(UpstreamInvalidResponse):
        if check.error is not None:
            raise check.error
        check.close()


def test_a_last_done_without_newline_is_relayed() -> None:
    check = EventStreamCheck("up")
    assert check.feed(b"event: x\nid: 3\nretry: 5\r\n: ping\ndata: [DO") == \
        b"event: x\nid: 3\nretry: 5\r\n: ping\n"
    assert check.feed(b"NE]") == b""
    assert check.close() == b"data: [DONE]"
