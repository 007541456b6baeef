"""The upstream deadline: what `timeout_s` (a model's, else `limits.upstream_timeout_s`) means.

- A whole answer (`complete`): one deadline for the entire call, from the first connection
  attempt through retries to the last byte of the body. A body trickled a byte at a time
  past it is cut and answered 504 `upstream_timeout`.
- A stream: the first chunk must arrive within `timeout_s` of the call's start (connecting,
  retries and the status line included), then each next chunk within `timeout_s` of the
  previous one (an idle gap). A stream that keeps sending has no total limit. Past either,
  the stream ends with an SSE error event (`upstream_timeout`).

Both upstream paths (pass-through and litellm) apply it here, on top of their own socket
timeouts, so a slow trickle that keeps every socket read short still ends in time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from llamos_gateway.errors import UpstreamTimeout


def deadline_after(timeout_s: float | None) -> float | None:
    """The loop time `timeout_s` from now (None: no deadline)."""
    return None if timeout_s is None else asyncio.get_running_loop().time() + timeout_s


async def paced(chunks: AsyncIterator[bytes], *, name: str, first_by: float | None,
                idle_s: float | None) -> AsyncIterator[bytes]:
    """`chunks`, each within its deadline: the first by `first_by`, each next one within
    `idle_s` of the one before. Closing this closes `chunks`."""
    loop = asyncio.get_running_loop()
    deadline, first = first_by, True
    try:
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    chunk = await anext(chunks)
            except StopAsyncIteration:
                return
            except TimeoutError as exc:
                what = "the first chunk" if first else "the next chunk"
                raise UpstreamTimeout(f"upstream {name} did not send {what} within "
                                      f"{idle_s:g}s") from exc
            yield chunk
            first = False
            deadline = None if idle_s is None else loop.time() + idle_s
    finally:
        closer = getattr(chunks, "aclose", None)
        if closer is not None:
            await closer()
