"""A small testing kit for code that talks to the gateway or sits behind it.

Like `starlette.testclient`, it ships with the package so that the gateway's own tests and
benchmarks, and yours, use the same pieces:

- `FakeOpenAI` / `Reply`: a scripted fake OpenAI-compatible server (queued replies, error
  statuses and bodies, delays, trickled bodies, connection resets, streams);
- `ServedApp`: any ASGI app (the fake, the gateway) served by uvicorn in a thread;
- `GatewayProcess` / `ServerProcess`: `llamos serve` (or any server command) as a process,
  and `fixed_fake_openai`: the fake in a process of its own, for load generators;
- `free_port`: a free loopback port;
- `MarkPurifier`, `FailingPurifier`, `SlowPurifier`: purifiers that record what they saw.

Nothing here imports pytest.
"""

from llamos_gateway.testing.fake_openai import FakeOpenAI, Recorded, Reply
from llamos_gateway.testing.ports import free_port, listening, wait_listening
from llamos_gateway.testing.process import (
    GatewayProcess,
    ServerProcess,
    child_environment,
    fixed_fake_openai,
)
from llamos_gateway.testing.purifiers import FailingPurifier, MarkPurifier, SlowPurifier
from llamos_gateway.testing.served import ServedApp

__all__ = ["FailingPurifier", "FakeOpenAI", "GatewayProcess", "MarkPurifier", "Recorded", "Reply",
           "ServedApp", "ServerProcess", "SlowPurifier", "child_environment", "fixed_fake_openai",
           "free_port", "listening", "wait_listening"]
