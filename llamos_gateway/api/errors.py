"""Where errors become HTTP responses with the OpenAI error envelope (`errors.envelope`):
ours, FastAPI's own (404, 405, validation) and unexpected ones (500, logged)."""

from __future__ import annotations

import logging

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from llamos_gateway.errors import LlamosError, envelope

log = logging.getLogger(__name__)

_HTTP_TYPES = {404: ("invalid_request_error", "not_found"),
               405: ("invalid_request_error", "method_not_allowed")}


def envelope_response(status: int, message: str, type_: str, code: str | None,
                      param: str | None = None, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(envelope(message, type_, code, param)), status_code=status,
                    media_type="application/json", headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(LlamosError)
    async def _llamos(request: Request, exc: LlamosError) -> Response:
        return envelope_response(exc.status, exc.message, exc.type, exc.code, exc.param,
                                 exc.headers)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        type_, code = _HTTP_TYPES.get(exc.status_code, ("invalid_request_error", "http_error"))
        message = f"{request.method} {request.url.path}: {exc.detail}"
        return envelope_response(exc.status_code, message, type_, code)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        param = ".".join(str(p) for p in first.get("loc", ())[1:]) or None
        return envelope_response(400, f"{param or 'body'}: {first.get('msg')}",
                                 "invalid_request_error", "invalid_request", param)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        return envelope_response(500, "internal error in the gateway; see its logs",
                                 "api_error", "internal_error")
