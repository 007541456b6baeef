"""The one place that takes the provider's secrets out of what the gateway relays or logs.

Upstreams echo credentials back more often than one would hope: a proxy that puts the
`Authorization` header in an error's `param`, a debug server that reflects every header, a
stack trace with the request in it. Every string either upstream adapter takes from a
provider's error (message, type, code, param, a non-JSON body) goes through `Redactor.text`
before it reaches an exception, a response or a log line; relayed response bytes go through
`Redactor.data`. Secrets are replaced before anything is truncated, so no cut can leave half
a key behind.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "***"
# A bearer token whatever it is (the provider may echo a key we do not hold, e.g. the
# client's own header through a misconfigured proxy): the scheme stays, the token goes.
_BEARER = re.compile(r"(?i)\b(bearer\s+)[^\s\"',;}\]]{8,}")
_MIN_SECRET = 6  # shorter header values (an org id "1", "true") are not worth masking
FIELD_CHARS = 200  # an upstream's type, code or param, relayed at most this long
MESSAGE_CHARS = 500


class Redactor:
    """Masks the given secrets (the provider key, extra header values) and any bearer token."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        kept = {s for s in secrets if s and len(s) >= _MIN_SECRET}
        self._secrets = tuple(sorted(kept, key=len, reverse=True))  # longest first
        self._raw = tuple(s.encode("utf-8") for s in self._secrets)

    def text(self, value: str, limit: int = MESSAGE_CHARS) -> str:
        for secret in self._secrets:
            value = value.replace(secret, MASK)
        value = _BEARER.sub(lambda m: m.group(1) + MASK, value)
        return value if len(value) <= limit else value[:limit] + "..."

    def field(self, value: object, limit: int = FIELD_CHARS) -> str | None:
        """An upstream's `type`, `code` or `param`: None stays None, the rest a short string."""
        return None if value is None else self.text(str(value), limit)

    def data(self, content: bytes) -> bytes:
        """Relayed bytes (a response body, SSE lines): the exact secrets, masked (a model's
        own text may say "bearer ...", so no pattern here). The bytes hold whole lines or
        bodies, so a secret is never split between two calls."""
        for secret in self._raw:
            if secret in content:
                content = content.replace(secret, MASK.encode())
        return content
