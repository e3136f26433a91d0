"""The repository's example secrets are public: every one of them is in secret_checks.SHIPPED_EXAMPLE_SECRETS
(a scan of the example files keeps the list complete), and the dashboard and the worker refuse to start with
any of them — or an admin password under 12 characters — outside DEV_MODE, naming the variable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import make_url

from harness.testbed import dashboard_exit, worker_exit
from onboarding.secret_checks import SHIPPED_EXAMPLE_SECRETS, is_shipped_example, startup_refusals
from onboarding.settings import REPO_ROOT, Settings

ENV_EXAMPLES = [".env.example", "deploy/production.env.example"]
YAML_EXAMPLES = ["livekit.yaml", "deploy/compose.yaml", "deploy/k8s/secret.example.yaml", "deploy/k8s/onboarding.yaml",
                 "deploy/helm/livekit-values.yaml", "deploy/livekit.production.yaml"]
SECRET_NAME = re.compile(r"^[A-Z0-9_]*(PASSWORD|SECRET|TOKEN|API_KEYS?|_KEY)$")  # settings, not YAML's existingSecret
REMOTE = "wss://livekit.example.com"
EXAMPLE_SECRET = "change-me-to-a-secret-of-at-least-32-characters"


def _values_in(name: str, value: object) -> set[str]:
    """Secret-looking values under a setting or YAML key: the value itself, a URL's password, keys files."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            found |= _values_in(str(key), inner)
            if name == "keys" or name.endswith("keys.yaml"):  # livekit key files: "<api key>: <secret>"
                found |= {str(key), str(inner)}
        return found
    if isinstance(value, list):
        for item in value:
            found |= _values_in(name, item)
        return found
    text = "" if value is None else str(value).strip()
    for default in re.findall(r"\$\{\w+:-([^}]*)\}", text):  # compose defaults: ${VAR:-value}
        found |= _values_in(name, default)
    if not text or "${" in text:
        return found
    if "://" in text:
        password = make_url(text).password if re.match(r"^\w+(\+\w+)?://", text) else None
        return found | ({password} if password and "${" not in password else set())
    if name.endswith("keys.yaml"):
        return found | _values_in(name, yaml.safe_load(text))
    if SECRET_NAME.search(name):
        found.add(text)
    return found


def example_secrets() -> set[str]:
    found: set[str] = set()
    for relative in ENV_EXAMPLES:
        for name, value in re.findall(r"^([A-Z_]+)=(.*)$", (REPO_ROOT / relative).read_text(), re.M):
            found |= _values_in(name, value)
    for relative in YAML_EXAMPLES:
        for doc in yaml.safe_load_all((REPO_ROOT / relative).read_text()):
            found |= _values_in("", doc)
    return found


def test_every_example_secret_in_the_repository_is_on_the_refused_list() -> None:
    found = example_secrets()
    assert found == set(SHIPPED_EXAMPLE_SECRETS), (
        f"not listed in onboarding/secret_checks.py: {sorted(found - SHIPPED_EXAMPLE_SECRETS)}; "
        f"listed but no longer shipped: {sorted(SHIPPED_EXAMPLE_SECRETS - found)}")


def test_the_scan_reads_every_kind_of_example_file() -> None:
    assert _values_in("ADMIN_PASSWORD", "s3cret-value") == {"s3cret-value"}
    assert _values_in("DATABASE_URL", "postgresql+psycopg://u:pw-in-url@db:5432/x") == {"pw-in-url"}
    assert _values_in("", {"environment": {"METRICS_TOKEN": "${METRICS_TOKEN:-from-a-default}"}}) == {"from-a-default"}
    assert _values_in("", {"keys": {"APIkey": "the-secret"}}) == {"APIkey", "the-secret"}
    assert _values_in("", {"stringData": {"keys.yaml": "k: s\n"}}) == {"k", "s"}
    assert _values_in("LOG_LEVEL", "INFO") == set()


def refusals(**overrides: object) -> list[str]:
    values = {"admin_password": "a-long-enough-own-password", **overrides}
    return startup_refusals(Settings(_env_file=None, **values), "dashboard")


@pytest.mark.parametrize(("overrides", "named"), [
    ({"admin_password": "change-me-too"}, "ADMIN_PASSWORD"),
    ({"admin_password": "Change-Me-Too "}, "ADMIN_PASSWORD"),  # case and blanks do not disguise it
    ({"admin_password": "eleven-char"}, "ADMIN_PASSWORD"),
    ({"livekit_url": REMOTE, "livekit_api_key": "APIabc", "livekit_api_secret": EXAMPLE_SECRET}, "LIVEKIT_API_SECRET"),
    ({"metrics_token": "change-me-as-well"}, "METRICS_TOKEN"),
    ({"rest_api_keys": "a-real-integration-key, change-me"}, "REST_API_KEYS"),
    ({"database_url": "postgresql+psycopg://onboarding:change-me@db:5432/onboarding"}, "DATABASE_URL"),
])
def test_example_values_are_refused_naming_the_variable(overrides: dict, named: str) -> None:
    problems = refusals(**overrides)
    assert len(problems) == 1 and named in problems[0], problems
    assert refusals(dev_mode=True, **overrides) == []


def test_own_values_pass() -> None:
    assert refusals(metrics_token="a-token-of-our-own", rest_api_keys="key-one,key-two") == []
    # the local dev server's documented pair is fine on this machine (make run)
    assert refusals() == [] and Settings(_env_file=None).livekit_api_secret == "secret"
    assert is_shipped_example(" SECRET ") and not is_shipped_example("secret-of-my-own")


def test_the_worker_checks_what_it_holds() -> None:
    settings = Settings(_env_file=None, admin_password="admin", metrics_token="change-me-as-well")
    worker = startup_refusals(settings, "worker")
    assert len(worker) == 1 and "METRICS_TOKEN" in worker[0]  # the admin login is the dashboard's business


@pytest.mark.slow
def test_the_dashboard_refuses_the_templates_secrets_at_start_up(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'refused.db'}",
                        admin_password="change-me-too")
    code, log = dashboard_exit(settings, tmp_path / "dashboard.log", METRICS_TOKEN="change-me-as-well",
                               REST_API_KEYS="change-me")
    assert code != 0
    assert "dashboard not started" in log
    for variable in ("ADMIN_PASSWORD", "METRICS_TOKEN", "REST_API_KEYS"):
        assert variable in log, log
    assert "change-me-too" not in log  # the refusal names the variable, not the secret


@pytest.mark.slow
def test_the_worker_refuses_the_templates_secrets_at_start_up(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'refused.db'}")
    code, log = worker_exit(settings, tmp_path / "worker.log", LIVEKIT_URL=REMOTE, LIVEKIT_API_KEY="change-me",
                            LIVEKIT_API_SECRET=EXAMPLE_SECRET, METRICS_TOKEN="change-me-as-well")
    assert code == 2, log
    assert "worker not started" in log and "LIVEKIT_API_SECRET" in log and "METRICS_TOKEN" in log
    assert EXAMPLE_SECRET not in log
