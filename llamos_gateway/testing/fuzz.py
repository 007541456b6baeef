"""Property-based fuzzing of the gateway's HTTP surface (hypothesis strategies and checks).

Every route and every field the gateway reads, with values of the right shape, the wrong
type, hostile unicode, garbage bytes and odd headers:

    from llamos_gateway.testing.fuzz import FuzzStats, fuzz_config, requests, send

    @given(requests())
    def test(request): problems = send(client, request, stats)   # [] when all is well

`send` drives any sync httpx-like client (Starlette's `TestClient` runs the app in-process)
and returns what went wrong: a 500, an exception out of the app, a response much larger than
the request. Logged tracebacks are caught by `TracebackCatcher`, a logging handler.
Used by `tests/api/test_fuzz.py` (bounded) and `bench/fuzz_gateway.py` (for minutes).

Needs hypothesis (a dev dependency); nothing else in the kit imports this module.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote

from hypothesis import strategies as st

from llamos_gateway.defense import Task

ADMIN_KEY = "sk-fuzz-admin"
USER_KEY = "sk-fuzz-user"
MODELS = ["fake", "fake-litellm", "local/echo", "local/sst2-sentiment", "missing-model"]
# A response may be this many times the request, plus a fixed allowance (envelopes, ids,
# headers of the JSON). GET routes answer about the gateway, not the request: absolute cap.
RATIO_LIMIT = 16.0
ALLOWANCE_BYTES = 16 * 1024
GET_LIMIT_BYTES = 4 * 1024 * 1024
RATIO_FLOOR_BYTES = 1024  # the tables' ratio is over requests at least this big

HOSTILE = ("\u200b\u200c\u200d\u2060\ufeff\u00ad\u202e\u202d\u2066\u2069\u034f\u180e"
           "\uff21\uff41\ufb01\u2167\u0430\u0435\u043e\u0441\u03bf\u0131\u0301\u0308"
           "\u3000\u00a0\t\r\n\x00\x1b\ud7ff\ue000\U0001f600\U000e0041\u0663\u05d0\u0627")


def fuzz_config(upstream_url: str) -> dict[str, Any]:
    """Settings for the app under fuzz: the lexical defense (real text processing), both
    upstream paths on the fake at `upstream_url`, auth with an admin and a user key, audit
    and metrics on, limits high enough that 429s stay rare."""
    spec = {"model": "openai/fake-model", "api_base": upstream_url, "max_retries": 0}
    return {
        "models": {"fake": spec, "fake-litellm": {**spec, "passthrough": False}},
        "defense": {"backend": "lexical", "header_override": True},
        "limits": {"max_retries": 0, "max_body_bytes": 256 * 1024},
        "auth": {"api_keys": [{"key": ADMIN_KEY, "id": "fuzz-admin", "admin": True},
                              {"key": USER_KEY, "id": "fuzz-user",
                               "requests_per_minute": 1_000_000}]},
    }


@dataclass(frozen=True)
class FuzzRequest:
    method: str
    path: str
    route: str  # the route's name in the tables ("chat", "audit", ...)
    headers: dict[str, str]
    body: bytes = b""

    def describe(self) -> str:
        return f"{self.method} {self.path[:200]} {self.headers} {self.body[:400]!r}"


@dataclass
class FuzzStats:
    requests: Counter[str] = field(default_factory=Counter)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    max_ratio: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    failed: Counter[str] = field(default_factory=Counter)  # by route

    def fail(self, request: FuzzRequest, problem: str) -> None:
        self.failures.append(problem)
        self.failed[request.route] += 1

    def record(self, request: FuzzRequest, status: int, size: int) -> None:
        self.requests[request.route] += 1
        self.statuses[(request.route, status)] += 1
        if request.method != "GET" and len(request.body) >= RATIO_FLOOR_BYTES:
            ratio = size / len(request.body)
            self.max_ratio[request.route] = max(self.max_ratio.get(request.route, 0.0), ratio)


class Client(Protocol):
    def request(self, method: str, url: str, *, content: bytes | None = None,
                headers: dict[str, str] | None = None) -> Any: ...


def send(client: Client, request: FuzzRequest, stats: FuzzStats) -> list[str]:
    """Send `request`; the problems found (empty when the answer is sound)."""
    try:
        response = client.request(request.method, request.path, content=request.body or None,
                                  headers=request.headers)
    except Exception as exc:  # the app raised out of its handlers: exactly what we hunt
        problem = f"exception {type(exc).__name__}: {exc!s:.200} on {request.describe()}"
        stats.fail(request, problem)
        return [problem]
    size = len(response.content)
    stats.record(request, response.status_code, size)
    problems = []
    if response.status_code == 500:
        problems.append(f"500 {response.text[:200]} on {request.describe()}")
    if request.method == "GET":
        if size > GET_LIMIT_BYTES:
            problems.append(f"{size} bytes answered on {request.describe()}")
    elif size > RATIO_LIMIT * len(request.body) + ALLOWANCE_BYTES:
        problems.append(f"{size} bytes for {len(request.body)} on {request.describe()}")
    for problem in problems:
        stats.fail(request, problem)
    return problems


class TracebackCatcher(logging.Handler):
    """Collects every log record that carries a traceback or is an ERROR."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.caught: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or record.levelno >= logging.ERROR:
            self.caught.append(f"{record.name}: {record.getMessage()[:300]}")


# -- strategies ----------------------------------------------------------------------------

def mostly(good: st.SearchStrategy[Any], other: st.SearchStrategy[Any],
           odds: int = 6) -> st.SearchStrategy[Any]:
    """`good` `odds` times out of `odds + 1`, else `other` (a plain one_of leans towards
    its first branch, and repeating a branch does not weigh it)."""
    return st.sampled_from([True] * odds + [False]).flatmap(lambda ok: good if ok else other)


def texts(max_size: int = 40) -> st.SearchStrategy[str]:
    """Text with a good share of the characters the lexical rules care about; now and then a
    long one (a few KB: long enough to weigh responses against requests, short enough that
    the fuzz stays about correctness, not speed)."""
    chars = st.sampled_from(HOSTILE) | st.characters(codec="utf-8") | st.sampled_from(
        list("abcdefghij klmnop"))
    short = st.text(chars, max_size=max_size)
    long = st.tuples(st.text(chars, min_size=1, max_size=40), st.integers(20, 120)).map(
        lambda unit: unit[0] * unit[1])
    return mostly(short, long, odds=9)


def header_text() -> st.SearchStrategy[str]:
    return st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30)


_LEAF = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
         | st.floats(allow_nan=False, allow_infinity=False) | texts(20))
ANY_JSON: st.SearchStrategy[Any] = st.recursive(
    _LEAF, lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=10)


def either(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a value of the right shape, sometimes anything at all."""
    return mostly(good, ANY_JSON)


def _part() -> st.SearchStrategy[Any]:
    kind = st.sampled_from(["text", "image_url", "input_audio", "file", "refusal"])
    return either(st.fixed_dictionaries(
        {"type": either(kind)},
        optional={"text": either(texts()), "image_url": either(st.fixed_dictionaries(
            {"url": st.just("data:image/png;base64,AAAA")}))}))


def _message() -> st.SearchStrategy[Any]:
    role = st.sampled_from(["system", "developer", "user", "assistant", "tool", "function"])
    return either(st.fixed_dictionaries(
        {"role": either(role), "content": either(texts() | st.lists(_part(), max_size=4))},
        optional={"name": either(header_text()), "tool_call_id": ANY_JSON}))


def _common() -> dict[str, st.SearchStrategy[Any]]:
    return {"stream": either(st.booleans()), "n": either(st.integers(0, 3)),
            "max_tokens": either(st.integers(-10, 100)), "temperature": ANY_JSON,
            "stream_options": either(st.fixed_dictionaries({"include_usage": st.booleans()})),
            "user": ANY_JSON, "x_unknown": ANY_JSON}


def _token_ids() -> st.SearchStrategy[Any]:
    return either(st.lists(either(st.integers(0, 50000)), max_size=5))


def _bodies(route: str) -> st.SearchStrategy[Any]:
    model = mostly(st.sampled_from(MODELS), texts(20) | ANY_JSON)
    if route == "chat":
        required = {"model": model,
                    "messages": either(st.lists(_message(), min_size=1, max_size=4))}
        optional = {**_common(), "max_completion_tokens": either(st.integers(-5, 50)),
                    "tools": ANY_JSON, "response_format": ANY_JSON}
    elif route == "completions":
        prompt = texts() | st.lists(texts(), max_size=3) | _token_ids() \
            | st.lists(_token_ids(), max_size=3)
        required = {"model": model, "prompt": either(prompt)}
        optional = _common()
    elif route == "embeddings":
        value = texts().filter(bool) | st.lists(texts(), min_size=1, max_size=3) \
            | _token_ids() | st.lists(_token_ids(), min_size=1, max_size=3)
        required = {"model": model, "input": either(value)}
        optional = {"dimensions": either(st.integers(-2, 64)),
                    "encoding_format": ANY_JSON, "stream": either(st.booleans())}
    elif route == "responses":
        item = either(st.fixed_dictionaries(
            {"role": either(st.sampled_from(["user", "system", "assistant", "developer"])),
             "content": either(texts() | st.lists(st.fixed_dictionaries(
                 {"type": either(st.sampled_from(["input_text", "output_text", "input_image"])),
                  "text": either(texts())}), max_size=3))},
            optional={"type": either(st.just("message"))}))
        required = {"model": model, "input": either(texts() | st.lists(item, max_size=3))}
        optional = {**_common(), "instructions": either(texts()),
                    "max_output_tokens": either(st.integers(-5, 50)), "store": ANY_JSON}
    elif route == "guardrail":  # LiteLLM's Generic Guardrail API
        required = {"texts": either(st.lists(texts(80), max_size=4))}
        optional = {"input_type": either(st.sampled_from(["request", "response"])),
                    "structured_messages": either(st.lists(_message(), max_size=3)),
                    "model": either(st.sampled_from(MODELS)), "litellm_call_id": ANY_JSON}
    else:  # purify
        task = st.sampled_from([t.value for t in Task]) | header_text()
        backend = st.sampled_from(["lexical", "passthrough", "llamos", "tiered", "nope"])
        required = {"texts": either(st.lists(texts(80), min_size=1, max_size=6))}
        optional = {"task": either(task), "backend": either(backend), "extra": ANY_JSON}
    return either(st.fixed_dictionaries(required, optional=optional))


def _encoded(body: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    def dump(value: Any) -> bytes:
        return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")

    garbage = st.binary(max_size=64) | st.sampled_from(
        [b"", b"{", b"[]", b"null", b'{"model": "fake", "messages": [{"role": "user", '
         b'"content": "\\ud800"}]}', b'\xef\xbb\xbf{"model": "fake"}', b'{"a": NaN}'])
    return mostly(body.map(dump), garbage)


def _headers() -> st.SearchStrategy[dict[str, str]]:
    auth = mostly(st.sampled_from([f"Bearer {ADMIN_KEY}"] * 3 + [f"Bearer {USER_KEY}"]),
                  st.sampled_from(["", "Bearer", "Basic abc", "Bearer sk-wrong"])
                  | header_text())
    return st.fixed_dictionaries(
        {"authorization": auth, "content-type": st.sampled_from(
            ["application/json", "application/json", "text/plain", "application/x-www-form"])},
        optional={"x-llamos-defense": mostly(st.sampled_from(["enforce", "shadow", "off"]),
                                             header_text()),
                  "x-llamos-task": mostly(st.sampled_from([t.value for t in Task]),
                                          header_text()),
                  "x-request-id": header_text(),
                  "x-api-key": mostly(st.just(USER_KEY), header_text(), odds=2)})


_POSTS = {"chat": "/v1/chat/completions", "completions": "/v1/completions",
          "embeddings": "/v1/embeddings", "responses": "/v1/responses", "purify": "/v1/purify",
          "guardrail": "/beta/litellm_basic_guardrail_api"}


def _post(route: str) -> st.SearchStrategy[FuzzRequest]:
    return st.builds(FuzzRequest, method=st.just("POST"), path=st.just(_POSTS[route]),
                     route=st.just(route), headers=_headers(), body=_encoded(_bodies(route)))


def _query(name: str, good: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.just(""), (good | texts(30)).map(lambda v: f"{name}={quote(v)}"))


def _gets() -> st.SearchStrategy[FuzzRequest]:
    audit = st.tuples(_query("limit", st.integers(-5, 2000).map(str)),
                      _query("after", st.integers(0, 2**66).map(str))).map(
        lambda q: "/v1/audit?" + "&".join(p for p in q if p))
    model = (st.sampled_from(MODELS) | texts(60)).map(lambda m: "/v1/models/" + quote(m))
    fixed = st.sampled_from(["/v1/models", "/healthz", "/readyz", "/metrics"])
    path = st.one_of(audit, model, fixed)
    return path.flatmap(lambda p: st.builds(
        FuzzRequest, method=st.just("GET"), path=st.just(p), route=st.just(_get_route(p)),
        headers=_headers()))


def _get_route(path: str) -> str:
    """"/v1/audit?limit=1" -> "audit", "/v1/models/x" -> "models", "/healthz" -> "healthz"."""
    parts = path.split("?")[0].strip("/").split("/")
    return parts[1] if parts[0] == "v1" and len(parts) > 1 else parts[0]


def _odd() -> st.SearchStrategy[FuzzRequest]:
    """Other methods on known routes, and unknown paths."""
    method = st.sampled_from(["PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
    path = st.sampled_from([*_POSTS.values(), "/healthz", "/v1/audit", "/v1/models"]) \
        | texts(30).map(lambda p: "/" + quote(p))
    return st.builds(FuzzRequest, method=method, path=path, route=st.just("other"),
                     headers=_headers(), body=st.binary(max_size=32))


def requests() -> st.SearchStrategy[FuzzRequest]:
    """Any request to any route: each POST route, the GET routes, other methods and paths."""
    kinds = [*(_post(route) for route in _POSTS), _gets(), _odd()]
    return st.integers(0, len(kinds) - 1).flatmap(lambda i: kinds[i])
