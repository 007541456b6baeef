"""A client that leaves stops the work done for it.

`unless_disconnected(request, work)` runs `work` (a request's whole gateway call: defense,
rate limit, upstream) while watching the connection; when the client goes away first the
work is cancelled, which closes the upstream request, and `ClientClosed` (499) is raised so
the request is logged and counted as the client's. The end of the shutdown grace cancels it
the same way (503 `server_shutting_down`). Streams need nothing of this once they
have started: the server cancels the relay when the client goes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.types import Receive

from llamos_gateway.api.shutdown import ShuttingDown, notice_of
from llamos_gateway.errors import LlamosError

T = TypeVar("T")


class ClientClosed(LlamosError):
    status = 499
    type = "invalid_request_error"
    code = "client_closed_request"


async def unless_disconnected(request: Request, work: Coroutine[Any, Any, T]) -> T:
    """`work`'s result, or `ClientClosed` once the client has gone (the body must have been
    read: only the disconnect is left to receive), or `ShuttingDown` at the end of the
    shutdown grace (`api.shutdown`)."""
    notice = notice_of(request.state)
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_disconnect(request.receive))
    undo = notice.on_cut(watcher.cancel) if notice is not None else None
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if undo is not None:
            undo()
        watcher.cancel()
        if not task.done():
            task.cancel()
            await asyncio.wait({task})  # its cleanup (closing the upstream) runs first
    if task.cancelled():
        if notice is not None and notice.cutting:
            raise ShuttingDown("the gateway is shutting down; the request was cut at the end "
                               "of its grace period")
        raise ClientClosed("the client closed the connection before the reply")
    return task.result()


async def _disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
