"""Fixed one-minute windows, shared by the in-memory and the Redis rate limiters.

A key may make `requests_per_minute` requests and spend `tokens_per_minute` estimated prompt
tokens in each calendar minute (server clock). A refusal says how long until the window turns.
"""

from __future__ import annotations

import math

from llamos_gateway.errors import RateLimited

WINDOW_S = 60


def window_of(now_s: float) -> int:
    return int(now_s // WINDOW_S)


def seconds_left(now_s: float) -> int:
    """Whole seconds until the current window ends (at least 1): the Retry-After value."""
    return max(1, math.ceil((window_of(now_s) + 1) * WINDOW_S - now_s))


def refusal(key_id: str, what: str, limit: int, retry_after_s: int) -> RateLimited:
    unit = "requests" if what == "requests" else "tokens"
    return RateLimited(
        f"Rate limit reached for key {key_id}: {limit} {unit} per minute. "
        f"Try again in {retry_after_s} s.",
        code="rate_limit_exceeded" if what == "requests" else "tokens_rate_limit_exceeded",
        headers={"retry-after": str(retry_after_s)})
