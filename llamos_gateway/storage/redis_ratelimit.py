"""Per-key rate limits in Redis, atomic across every worker and replica.

One Lua script per request checks and counts both budgets of the current one-minute window
(`{prefix}rl:{key_id}:{window}`, a hash with fields `r` and `t`, expiring with the window) on
Redis's own clock, so workers with skewed clocks still share one window. When Redis is down
the request is let through (`fail_policy: open`, counted) or refused with a 429 (`closed`).
"""

from __future__ import annotations

import logging

from llamos_gateway.errors import RateLimited
from llamos_gateway.storage import Quota, StoreUnavailable
from llamos_gateway.storage.quota import WINDOW_S, refusal
from llamos_gateway.storage.redis_client import RedisClient

log = logging.getLogger(__name__)

# KEYS[1] = prefix..key_id  ARGV = rpm (0 = none), tpm (0 = none), tokens, window seconds
# -> {0, 0} allowed | {1, retry_after_s} over requests | {2, retry_after_s} over tokens
_ACQUIRE = """
local now = redis.call('TIME')
local window_s = tonumber(ARGV[4])
local window = math.floor(tonumber(now[1]) / window_s)
local key = KEYS[1] .. ':' .. window
local rpm, tpm, tokens = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local used = redis.call('HMGET', key, 'r', 't')
local requests, spent = tonumber(used[1] or '0'), tonumber(used[2] or '0')
local left = (window + 1) * window_s - tonumber(now[1])
if rpm > 0 and requests + 1 > rpm then return {1, left} end
if tpm > 0 and spent + tokens > tpm then return {2, left} end
redis.call('HINCRBY', key, 'r', 1)
redis.call('HINCRBY', key, 't', tokens)
redis.call('EXPIRE', key, window_s + 5)
return {0, 0}
"""


class RedisRateLimiter:
    def __init__(self, client: RedisClient, *, fail_policy: str = "open",
                 retry_after_s: float = 2.0) -> None:
        self._client = client
        self._fail_open = fail_policy != "closed"
        self._retry_after_s = max(1, round(retry_after_s))
        self.failed_open = 0
        self.failed_closed = 0

    async def acquire(self, key_id: str, *, tokens: int, quota: Quota) -> None:
        rpm, tpm = quota.requests_per_minute, quota.tokens_per_minute
        if rpm is None and tpm is None:
            return
        name = self._client.key("rl", key_id)
        args = (rpm or 0, tpm or 0, max(0, tokens), WINDOW_S)
        try:
            verdict = await self._client.eval(_ACQUIRE, [name], args)
        except StoreUnavailable:
            self._unavailable(key_id)
            return
        over, retry_after = int(verdict[0]), max(1, int(verdict[1]))
        if over == 1:
            raise refusal(key_id, "requests", rpm or 0, retry_after)
        if over == 2:
            raise refusal(key_id, "tokens", tpm or 0, retry_after)

    def _unavailable(self, key_id: str) -> None:
        if self._fail_open:
            self.failed_open += 1
            return
        self.failed_closed += 1
        raise RateLimited("Rate limiter unavailable; try again shortly.",
                          code="rate_limiter_unavailable",
                          headers={"retry-after": str(self._retry_after_s)})
