"""Secrets a deployment must not run with: values this repository publishes in its examples, and an admin
password short enough to guess.

Anyone can read `.env.example`, `deploy/production.env.example`, `deploy/k8s/secret.example.yaml`,
`deploy/compose.yaml` and `livekit.yaml`; a deployment that kept one of their values runs with a published key.
`SHIPPED_EXAMPLE_SECRETS` is the one list of those values: `tests/test_secrets.py` scans the example files, so a
new example secret fails the tests until it is added here (and is then refused at start-up).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

if TYPE_CHECKING:
    from onboarding.settings import Settings

MIN_ADMIN_PASSWORD = 12
SHIPPED_EXAMPLE_SECRETS = frozenset({
    "admin",  # .env.example ADMIN_PASSWORD (make run's DEV_MODE login)
    "devkey", "secret",  # livekit.yaml and .env.example: the local dev server's key pair
    "change-me",  # deploy/*: LIVEKIT_API_KEY, POSTGRES_PASSWORD, the DATABASE_URL password
    "change-me-too",  # deploy/*: ADMIN_PASSWORD
    "change-me-as-well",  # deploy/*: METRICS_TOKEN
    "change-me-to-a-secret-of-at-least-32-characters",  # deploy/*: LIVEKIT_API_SECRET
})
_FOLDED = {value.casefold() for value in SHIPPED_EXAMPLE_SECRETS}


def is_shipped_example(value: str) -> bool:
    """True when `value` is one of the examples' secrets (case and surrounding blanks ignored)."""
    return value.strip().casefold() in _FOLDED


def _database_password(url: str) -> str | None:
    try:
        return make_url(url).password
    except ArgumentError:
        return None


def startup_refusals(settings: Settings, role: Literal["dashboard", "worker"]) -> list[str]:
    """Why this process must not start with these settings (one line per variable), or [] — always [] in DEV_MODE.

    The worker holds the LiveKit secret, the metrics token and the database; the dashboard also the admin login
    and the REST API keys.
    """
    if settings.dev_mode:
        return []
    problems: list[str] = []
    fix = "set a value of your own (or DEV_MODE=true on a machine nobody else reaches)"
    if role == "dashboard":
        problem = settings.admin_password_problem()
        if problem:
            problems.append(problem)
    if not settings.uses_local_server and is_shipped_example(settings.livekit_api_secret):
        problems.append(f"LIVEKIT_API_SECRET is the example value shipped in this repository: {fix} — generate a "
                        "key pair with `livekit-server generate-keys`")
    if settings.metrics_token and is_shipped_example(settings.metrics_token):
        problems.append(f"METRICS_TOKEN is the example value shipped in this repository: {fix}")
    if role == "dashboard":
        for index, key in enumerate(settings.api_keys, start=1):
            if is_shipped_example(key):
                problems.append(f"REST_API_KEYS: key {index} is a value shipped in this repository: {fix}")
    password = _database_password(settings.database_url)
    if password and is_shipped_example(password):
        problems.append(f"DATABASE_URL has the example password shipped in this repository: {fix}")
    return problems
