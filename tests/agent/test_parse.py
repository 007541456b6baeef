from __future__ import annotations

import pytest

from llamos_gateway.agent.parse import ParseFailure, parse_answer


@pytest.mark.parametrize(("reply", "path"), [
    ('{"purified": "a good film", "changed": true}', "json"),
    ('  \n{"changed": true, "purified": "a good film"}\n', "json"),
    ('```json\n{"purified": "a good film", "changed": true}\n```', "fence"),
    ('Here it is:\n```\n{"purified": "a good film", "changed": true}\n```\nDone.', "fence"),
    ('Sure! {"purified": "a good film", "changed": true} Hope this helps {x}.', "prose"),
    ('note {not json} then {"purified": "a good film", "changed": true}', "prose"),
])
def test_accepted_shapes(reply: str, path: str) -> None:
    answer = parse_answer(reply)
    assert (answer.purified, answer.changed, answer.path) == ("a good film", True, path)


def test_braces_inside_the_purified_text() -> None:
    answer = parse_answer('Result: {"purified": "use {x} and }", "changed": false}')
    assert answer.purified == "use {x} and }" and answer.changed is False


@pytest.mark.parametrize(("reply", "message"), [
    ("", "empty"),
    ("a good film", "no JSON object"),
    ('["a good film"]', "not an object"),
    ('{"purified": 3, "changed": true}', "not a string"),
    ('{"purified": "x", "changed": "yes"}', "not a boolean"),
    ('{"purified": "x"}', "not a boolean"),
    ('{"text": "x", "changed": true}', "purified"),
    ('```json\n{"purified": "x", "changed": tru\n```', "no JSON object"),
])
def test_rejected_shapes(reply: str, message: str) -> None:
    with pytest.raises(ParseFailure, match=message):
        parse_answer(reply)
