"""The Kubernetes manifests agree with the code: probes hit real routes, ports match the
settings, every env name is one the settings read, config and prompts load."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from asgi_lifespan import LifespanManager

from llamos_gateway.agent.prompts import load_prompts
from llamos_gateway.api.app import create_app
from llamos_gateway.settings import Settings, load_settings
from tests.deploy.conftest import (
    K8S,
    ROOT,
    entry_point_env_names,
    load_all,
    provider_key_envs,
    settings_env_names,
)


@pytest.fixture(scope="module")
def manifests() -> dict[tuple[str, str], dict[str, Any]]:
    listed = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    docs = [doc for name in listed["resources"] for doc in load_all(K8S / name)]
    by_kind = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    assert len(by_kind) == len(docs), "two manifests share a kind and name"
    return by_kind


def test_every_manifest_is_in_the_kustomization() -> None:
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert on_disk == listed


def gateway(manifests: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Any]:
    return manifests[("Deployment", "llamos-gateway")]


def container(manifests: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Any]:
    (only,) = gateway(manifests)["spec"]["template"]["spec"]["containers"]
    return only


@pytest.fixture(scope="module")
def config(manifests: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Any]:
    data = manifests[("ConfigMap", "llamos-config")]["data"]["llamos.yaml"]
    return dict(yaml.safe_load(data))


@pytest.fixture(scope="module")
def settings(config: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Settings:
    path = tmp_path_factory.mktemp("k8s") / "llamos.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return load_settings(path)  # raises ConfigError naming the key if the ConfigMap is wrong


async def answers(paths: list[str]) -> dict[str, int]:
    """The status each path gets from the real app (in-process, lifespan run)."""
    app = create_app(load_settings(defense={"backend": "passthrough"}))
    async with LifespanManager(app) as manager, httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://pod") as client:
        return {path: (await client.get(path)).status_code for path in paths}


async def test_probes_hit_the_health_routes_on_the_served_port(
        manifests: dict[tuple[str, str], dict[str, Any]], settings: Settings) -> None:
    c = container(manifests)
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports["http"] == settings.server.port
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert c[probe]["httpGet"]["port"] in (ports["http"], "http"), probe
    annotations = gateway(manifests)["spec"]["template"]["metadata"]["annotations"]
    paths = [c[p]["httpGet"]["path"] for p in ("readinessProbe", "livenessProbe", "startupProbe")]
    statuses = await answers([*paths, annotations["prometheus.io/path"]])
    assert set(statuses.values()) == {200}, statuses
    assert int(annotations["prometheus.io/port"]) == settings.server.port
    assert settings.server.host == "0.0.0.0"  # reachable from the kubelet and the Service


def test_env_names_are_read_by_the_code(manifests: dict[tuple[str, str], dict[str, Any]],
                                        config: dict[str, Any]) -> None:
    allowed = settings_env_names() | entry_point_env_names() | provider_key_envs(config)
    names = [e["name"] for e in container(manifests)["env"]]
    assert len(names) == len(set(names))
    unknown = set(names) - allowed
    assert not unknown, f"env names no code reads: {unknown}"
    # every provider key the config names is wired from a Secret
    secret_refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container(manifests)["env"]
                   if "secretKeyRef" in e.get("valueFrom", {})}
    assert provider_key_envs(config) <= set(secret_refs)
    assert "LLAMOS_AUTH__API_KEYS" in secret_refs
    assert not secret_refs["LLAMOS_AUTH__API_KEYS"].get("optional"), \
        "without gateway keys the gateway runs without auth: the Secret must be required"
    assert not any("value" in e and "KEY" in e["name"] for e in container(manifests)["env"]), \
        "keys come from Secrets, never inline"


def test_env_values_and_config_make_valid_settings(
        manifests: dict[tuple[str, str], dict[str, Any]], config: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config_path = tmp_path / "llamos.yaml"
    config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    for env in container(manifests)["env"]:
        if "value" in env and env["name"].startswith("LLAMOS_") and env["name"] != "LLAMOS_CONFIG":
            monkeypatch.setenv(env["name"], env["value"])
    monkeypatch.setenv("LLAMOS_AUTH__API_KEYS", '[{"key": "k", "id": "team-a"}]')
    settings = load_settings(config_path)
    assert settings.redis.url is not None
    host_port = settings.redis.url.split("//", 1)[1].split("/", 1)[0]
    host, port = host_port.split(":")
    redis_service = manifests[("Service", host)]
    assert int(port) in [p["port"] for p in redis_service["spec"]["ports"]]
    config_file = next(e["value"] for e in container(manifests)["env"]
                       if e["name"] == "LLAMOS_CONFIG")
    mounts = {m["name"]: m["mountPath"] for m in container(manifests)["volumeMounts"]}
    assert str(Path(config_file).parent) == mounts["config"]


def test_service_and_autoscaler_point_at_the_gateway(
        manifests: dict[tuple[str, str], dict[str, Any]]) -> None:
    deployment = gateway(manifests)
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    service = manifests[("Service", "llamos-gateway")]
    assert service["spec"]["selector"].items() <= labels.items()
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= {"http", 8000}
    hpa = manifests[("HorizontalPodAutoscaler", "llamos-gateway")]
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "llamos-gateway")
    assert hpa["spec"]["minReplicas"] >= 2
    requests = container(manifests)["resources"]["requests"]
    assert "cpu" in requests, "CPU utilisation targets need a CPU request"
    redis = manifests[("StatefulSet", "llamos-redis")]
    redis_labels = redis["spec"]["template"]["metadata"]["labels"]
    assert (manifests[("Service", "llamos-redis")]["spec"]["selector"].items()
            <= redis_labels.items())


def test_pods_run_unprivileged(manifests: dict[tuple[str, str], dict[str, Any]]) -> None:
    pod = gateway(manifests)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    security = container(manifests)["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    mounts = {m["mountPath"] for m in container(manifests)["volumeMounts"]}
    assert "/tmp" in mounts, "a read-only root needs a writable /tmp (metrics, temp files)"


def test_volumes_reference_configmaps_that_exist(
        manifests: dict[tuple[str, str], dict[str, Any]]) -> None:
    volumes = gateway(manifests)["spec"]["template"]["spec"]["volumes"]
    for volume in volumes:
        if "configMap" in volume:
            assert ("ConfigMap", volume["configMap"]["name"]) in manifests, volume["name"]
    mounted = {m["name"] for m in container(manifests)["volumeMounts"]}
    assert mounted == {v["name"] for v in volumes}


def test_prompts_configmap_matches_the_prompt_files(
        manifests: dict[tuple[str, str], dict[str, Any]], settings: Settings,
        tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("render_prompts", K8S / "render_prompts.py")
    assert spec is not None and spec.loader is not None
    render = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(render)
    files = render.prompt_files()
    data = manifests[("ConfigMap", "llamos-prompts")]["data"]
    assert data == {render.key_for(name): text for name, text in files.items()}, \
        "prompts changed: run python deploy/k8s/render_prompts.py"
    volume = next(v for v in gateway(manifests)["spec"]["template"]["spec"]["volumes"]
                  if v["name"] == "prompts")
    items = {i["key"]: i["path"] for i in volume["configMap"]["items"]}
    assert items == {render.key_for(name): name for name in files}
    mount = next(m for m in container(manifests)["volumeMounts"] if m["name"] == "prompts")
    assert Path(mount["mountPath"]) == settings.defense.prompts_dir / "llamos"
    # laid out as the volume would be, the prompts load and validate
    for key, path in items.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(data[key], encoding="utf-8")
    assert load_prompts(tmp_path).version == load_prompts(ROOT / "prompts" / "llamos").version
