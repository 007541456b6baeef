"""A cheap structural check of an upstream's server-sent events, as the bytes go by.

The pass-through path relays a stream without parsing its JSON. It still has to notice an
upstream that sends garbage with status 200, or stops before `data: [DONE]`: the client
must get an SSE error event (`upstream_invalid_response`) rather than bytes its SDK cannot
read or a stream that just stops. `EventStreamCheck.feed` takes the bytes as they arrive and
hands back only whole lines, each one checked: a field the SSE format knows (`data`,
`event`, `id`, `retry`), a comment, or a blank line; a `data` payload that is `[DONE]` or
looks like one JSON object (braces at both ends; the JSON itself is not parsed).
"""

from __future__ import annotations

from llamos_gateway.errors import UpstreamInvalidResponse

_FIELDS = frozenset({b"event", b"id", b"retry"})
MAX_LINE_BYTES = 8 * 1024 * 1024  # one SSE line longer than this is not a model's chunk


class EventStreamCheck:
    """`feed` returns the checked whole lines; at the first bad one it stops there and sets
    `error` (the lines before it are still returned, so a client keeps what was good)."""

    def __init__(self, name: str, *, require_done: bool = True) -> None:
        self._name = name
        self._partial = b""
        self.done = not require_done  # Responses API streams end with an event, not [DONE]
        self.error: UpstreamInvalidResponse | None = None

    def feed(self, chunk: bytes) -> bytes:
        """The whole lines that `chunk` completes, b"" while a line is unfinished."""
        data = self._partial + chunk if self._partial else chunk
        cut = data.rfind(b"\n") + 1
        self._partial = data[cut:]
        if len(self._partial) > MAX_LINE_BYTES:
            self.error = self._invalid(f"an event line longer than {MAX_LINE_BYTES} bytes")
        start = 0
        while start < cut:
            end = data.index(b"\n", start) + 1
            problem = self._problem(data[start:end - 1].rstrip(b"\r"))
            if problem:
                self.error = self._invalid(problem)
                return data[:start]
            start = end
        return data[:cut]

    def close(self) -> bytes:
        """The upstream ended the stream: it must have said `[DONE]` (when required). Returns the
        last line when it had no newline (checked, to be relayed); raises when the stream was
        bad."""
        rest, self._partial = self._partial, b""
        problem = self._problem(rest.rstrip(b"\r")) if rest.strip() else None
        if problem is None and not self.done:
            problem = "a stream that ended without its [DONE] event"
        if problem:
            raise self._invalid(problem)
        return rest

    def _problem(self, line: bytes) -> str | None:
        if not line or line[:1] == b":":
            return None
        name, _, value = line.partition(b":")
        if name == b"data":
            payload = value.strip()
            if payload == b"[DONE]":
                self.done = True
            elif not (payload[:1] == b"{" and payload[-1:] == b"}"):
                return "a data line that is not a JSON object"
        elif name not in _FIELDS:
            return "a line that is not a server-sent event"
        return None

    def _invalid(self, what: str) -> UpstreamInvalidResponse:
        return UpstreamInvalidResponse(f"upstream {self._name} sent {what}")
