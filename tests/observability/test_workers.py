"""`llamos serve --workers 2`: every scrape, whichever worker answers it, counts every request."""

from __future__ import annotations

import concurrent.futures
import json
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from llamos_gateway.testing import FakeOpenAI, GatewayProcess

pytestmark = pytest.mark.slow
REQUESTS = 24


def requests_total(text: str) -> float:
    return sum(s.value for family in text_string_to_metric_families(text)
               for s in family.samples
               if s.name == "llamos_requests_total" and s.labels.get("status") == "200")


def test_metrics_are_merged_over_workers(tmp_path: Path, fake_url: str,
                                         fake_upstream: FakeOpenAI) -> None:
    metrics_dir = tmp_path / "prom"
    metrics_dir.mkdir()
    (metrics_dir / "counter_999999.db").write_bytes(b"stale")  # a previous run's file
    config = {"models": {"fake": {"model": "openai/fake-model", "api_base": fake_url}},
              "defense": {"backend": "passthrough"}, "audit": {"enabled": False}}
    gateway = GatewayProcess(config, tmp_path, workers=2,
                             env={"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)})
    with gateway:
        body = {"model": "fake", "messages": [{"role": "user", "content": "hello"}]}

        def one(_: int) -> int:
            # a new connection per request, so the kernel spreads them over both workers
            with httpx.Client(base_url=gateway.url, timeout=10) as client:
                return client.post("/v1/chat/completions", json=body).status_code

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            assert list(pool.map(one, range(REQUESTS))) == [200] * REQUESTS
        for _ in range(4):  # each scrape may be answered by a different worker
            with httpx.Client(base_url=gateway.url, timeout=10) as client:
                response = client.get("/metrics")
            assert response.status_code == 200, gateway.log()
            assert requests_total(response.text) == REQUESTS, response.text[:2000]
        workers = {p.stem.rsplit("_", 1)[1] for p in metrics_dir.glob("gauge_livemax_*.db")}
        assert len(workers) == 2, sorted(metrics_dir.iterdir())
    assert not (metrics_dir / "counter_999999.db").exists()
    assert len(fake_upstream.history) == REQUESTS
    # every line the workers (and uvicorn) wrote is JSON; one INFO line per request
    lines = [json.loads(line) for line in gateway.log_path.read_text().splitlines() if line]
    assert sum(1 for r in lines if r["logger"] == "llamos.request") == REQUESTS
