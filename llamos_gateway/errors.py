"""One error tree. Each class carries its HTTP status and OpenAI `type`/`code`.

`envelope` builds the OpenAI error envelope (for JSON responses and SSE error events alike);
`api/errors.py` turns errors into responses, the CLI into one-line messages.
"""

from __future__ import annotations

from typing import Any, ClassVar


class LlamosError(Exception):
    status: ClassVar[int] = 500
    type: ClassVar[str] = "api_error"
    code: ClassVar[str | None] = "internal_error"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.headers = headers or {}
        if code is not None:
            self.code = code  # type: ignore[misc]

    def envelope(self) -> dict[str, Any]:
        return envelope(self.message, self.type, self.code, self.param)


def envelope(message: str, type_: str, code: str | None,
             param: str | None = None) -> dict[str, Any]:
    """The OpenAI error envelope `{"error": {"message", "type", "param", "code"}}`."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


class InvalidRequest(LlamosError):
    status = 400
    type = "invalid_request_error"
    code = "invalid_request"


class AuthenticationFailed(LlamosError):
    status = 401
    type = "authentication_error"
    code = "invalid_api_key"


class PermissionDenied(LlamosError):
    status = 403
    type = "permission_error"
    code = "permission_denied"


class ModelNotFound(LlamosError):
    status = 404
    type = "invalid_request_error"
    code = "model_not_found"


class NotFound(LlamosError):
    status = 404
    type = "invalid_request_error"
    code = "not_found"


class BodyTooLarge(LlamosError):
    status = 413
    type = "invalid_request_error"
    code = "request_too_large"


class RateLimited(LlamosError):
    status = 429
    type = "rate_limit_error"
    code = "rate_limit_exceeded"


class UpstreamError(LlamosError):
    """The target model's provider failed or answered with an error."""

    status = 502
    type = "api_error"
    code = "upstream_error"


class UpstreamInvalidResponse(UpstreamError):
    """The upstream answered 200 with something that is not an OpenAI response: bytes that are
    not JSON, a stream that is not server-sent events or that ends before `[DONE]`."""

    code = "upstream_invalid_response"


class UpstreamTimeout(LlamosError):
    status = 504
    type = "api_error"
    code = "upstream_timeout"


class DefenseUnavailable(LlamosError):
    """The defense backend could not purify (model down, timeout, unusable output).

    `partial` is what the backend could still do (a `PurifyResult`: the tiered backend's
    lexical pass when its agent failed). Under fail-open it is forwarded instead of the
    original text; under fail-closed it is ignored.
    """

    status = 503
    type = "api_error"
    code = "defense_unavailable"

    def __init__(self, message: str, *, reason: str = "defense_error", partial: Any = None,
                 **kw: Any) -> None:
        super().__init__(message, **kw)
        self.reason = reason
        self.partial = partial


class ContentBlocked(LlamosError):
    """The defense refused the request: its suspicion score reached `block_threshold` under
    `action: block`. `outcome` is the `DefenseOutcome` (for the audit trail)."""

    status = 400
    type = "invalid_request_error"
    code = "content_blocked"

    def __init__(self, message: str, *, outcome: Any = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.outcome = outcome


class ConfigError(LlamosError):
    """Bad configuration, found at start-up. The message names the key."""

    status = 500
    type = "api_error"
    code = "config_error"


class UpstreamStatusError(UpstreamError):
    """The upstream answered with an HTTP error; we relay its status when it is a client error."""

    def __init__(self, message: str, *, status: int, type_: str = "api_error",
                 code: str | None = "upstream_error", param: str | None = None) -> None:
        super().__init__(message, param=param)
        self.status = status  # type: ignore[misc]
        self.type = type_  # type: ignore[misc]
        self.code = code  # type: ignore[misc,assignment]  # the upstream's own code, None included
