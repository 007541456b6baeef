"""Redis for tests: the shared server on 127.0.0.1:6379 (DB 13, a unique key prefix per test,
only that prefix deleted afterwards) and private redis-server processes that a test may stop."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from pathlib import Path

import redis

from llamos_gateway.testing import free_port

SHARED_URL = "redis://127.0.0.1:6379/13"


def shared_redis_available() -> bool:
    try:
        return bool(redis.Redis.from_url(SHARED_URL, socket_timeout=0.5).ping())
    except redis.RedisError:
        return False


def unique_prefix() -> str:
    return f"llamos-test:{uuid.uuid4().hex[:10]}:"


def delete_prefix(url: str, prefix: str) -> None:
    client = redis.Redis.from_url(url, socket_timeout=2.0)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def dead_url() -> str:
    """A URL where nothing listens: connections are refused at once."""
    return f"redis://127.0.0.1:{free_port()}/0"


class OwnRedis:
    """A private redis-server (no persistence) on a free port; `stop()` and `start()` it at will.
    Never touches the shared server."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout_s: float = 10.0) -> OwnRedis:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self._process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout_s
        client = redis.Redis(port=self.port, socket_timeout=0.2, socket_connect_timeout=0.2)
        try:
            while True:
                try:
                    if client.ping():
                        return self
                except redis.RedisError:
                    if time.monotonic() > deadline or self._process.poll() is not None:
                        raise RuntimeError("private redis-server did not start") from None
                    time.sleep(0.02)
        finally:
            client.close()

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=10)
        self._process = None


async def clear_of_window_edge(margin_s: float = 3.0) -> None:
    """Rate limits use one-minute windows: a test that counts requests must not straddle two.
    Waits for the next window when fewer than `margin_s` seconds of this one are left."""
    import asyncio

    left = 60 - time.time() % 60
    if left < margin_s:
        await asyncio.sleep(left + 0.05)
