"""Staff accounts: named users from `python -m onboarding users`, our own login with server-side sessions that
expire and end on logout, a throttle per account and per client, and `require_staff` for staff-only routes.

In-process against the real app (create_app) and a real SQLite file; the slow tests against the real dashboard.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import select

from harness.testbed import Dashboard, start_dashboard
from models import StaffSession, StaffUser, utcnow
from onboarding.accounts import AccountError, add_user, check_login, set_disabled, set_password
from onboarding.api.staff import COOKIE
from onboarding.db import session_scope
from onboarding.settings import REPO_ROOT, Settings

ADMIN_PASSWORD = "the-bootstrap-admin-password"
ALICE_PASSWORD = "alice-has-her-own-password"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'staff.db'}", admin_password=ADMIN_PASSWORD)


@pytest.fixture
def app(settings: Settings):
    from dashboard import create_app

    return create_app(settings)


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as http:
        yield http


def users(settings: Settings, *args: str, password: str | None = None) -> subprocess.CompletedProcess:
    """`python -m onboarding users …` as an operator runs it, the password on stdin."""
    return subprocess.run([sys.executable, "-m", "onboarding", "users", *args, "--url", settings.database_url],
                          input=f"{password}\n" if password is not None else "", capture_output=True, text=True,
                          cwd=REPO_ROOT, timeout=60)


def log_in(http: TestClient | httpx.Client, username: str, password: str, **kwargs) -> httpx.Response:
    return http.post("/admin/login", data={"username": username, "password": password}, follow_redirects=False,
                     **kwargs)


def test_users_command_adds_changes_disables_and_lists(settings: Settings) -> None:
    added = users(settings, "add", "Alice", password=ALICE_PASSWORD)
    assert (added.returncode, added.stdout.strip()) == (0, "added alice"), added.stderr
    assert users(settings, "add", "alice", password=ALICE_PASSWORD).returncode == 2  # exists
    short = users(settings, "add", "bob", password="too-short")
    assert short.returncode == 2 and "12 characters" in short.stderr
    example = users(settings, "add", "bob", password="change-me-to-a-secret-of-at-least-32-characters")
    assert example.returncode == 2 and "examples" in example.stderr
    # no password on the command line: there is no such argument
    assert users(settings, "add", "bob", ALICE_PASSWORD, password=ALICE_PASSWORD).returncode == 2
    with session_scope(settings.database_url) as db:
        stored = db.exec(select(StaffUser).where(StaffUser.username == "alice")).one()
    assert stored.password_hash.startswith("$argon2id$") and ALICE_PASSWORD not in stored.password_hash
    assert check_login(settings.database_url, "ALICE", ALICE_PASSWORD) == "alice"
    assert users(settings, "passwd", "alice", password="alice-changed-her-password").returncode == 0
    assert check_login(settings.database_url, "alice", ALICE_PASSWORD) is None
    assert users(settings, "disable", "alice").returncode == 0
    assert check_login(settings.database_url, "alice", "alice-changed-her-password") is None
    listed = users(settings, "list").stdout
    assert "alice\tdisabled" in listed
    assert users(settings, "enable", "alice").returncode == 0
    assert check_login(settings.database_url, "alice", "alice-changed-her-password") == "alice"
    assert users(settings, "disable", "nobody").returncode == 2


def test_bootstrap_account_follows_admin_password(settings: Settings) -> None:
    from dashboard import create_app

    create_app(settings)
    assert check_login(settings.database_url, "admin", ADMIN_PASSWORD) == "admin"
    create_app(settings.model_copy(update={"admin_password": "a-new-bootstrap-password"}))
    assert check_login(settings.database_url, "admin", ADMIN_PASSWORD) is None
    assert check_login(settings.database_url, "admin", "a-new-bootstrap-password") == "admin"


def test_login_sets_a_server_side_session_cookie(client: TestClient, settings: Settings) -> None:
    assert client.get("/admin/config").status_code == 401
    wrong = log_in(client, "admin", "not-the-password")
    assert wrong.status_code == 401 and "Incorrect Credentials" in wrong.text and COOKIE not in wrong.cookies
    signed_in = log_in(client, "admin", ADMIN_PASSWORD)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/admin/"
    cookie = signed_in.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie  # plain http here
    token = signed_in.cookies[COOKIE]
    with session_scope(settings.database_url) as db:
        row = db.exec(select(StaffSession)).one()
    assert row.username == "admin" and token not in row.token_hash  # only the hash is stored
    assert abs((row.expires_at - row.created_at) - timedelta(hours=settings.staff_session_hours)) < timedelta(seconds=1)
    assert client.get("/admin/config").status_code == 200


def test_cookie_is_secure_over_https(app) -> None:
    with TestClient(app, base_url="https://dashboard.test") as https:
        signed_in = log_in(https, "admin", ADMIN_PASSWORD)
    assert "Secure" in signed_in.headers["set-cookie"]


def test_logout_disable_and_passwd_end_sessions_at_once(client: TestClient, settings: Settings) -> None:
    def session_of(name: str, password: str) -> dict[str, str]:
        return {"Cookie": f"{COOKIE}={log_in(client, name, password).cookies[COOKIE]}"}

    client.cookies.clear()
    add_user(settings.database_url, "alice", ALICE_PASSWORD)
    old = session_of("alice", ALICE_PASSWORD)
    assert client.get("/admin/config", headers=old).status_code == 200
    client.get("/admin/logout", headers=old, follow_redirects=False)
    assert client.get("/admin/config", headers=old).status_code == 401  # the copied cookie opens nothing
    disabled = session_of("alice", ALICE_PASSWORD)
    set_disabled(settings.database_url, "alice", True)
    assert client.get("/admin/config", headers=disabled).status_code == 401
    set_disabled(settings.database_url, "alice", False)
    changed = session_of("alice", ALICE_PASSWORD)
    set_password(settings.database_url, "alice", "alice-changed-her-password")
    assert client.get("/admin/config", headers=changed).status_code == 401
    with pytest.raises(AccountError, match="12 characters"):
        set_password(settings.database_url, "alice", "short")


def test_an_expired_session_is_refused(client: TestClient, settings: Settings) -> None:
    cookie = {"Cookie": f"{COOKIE}={log_in(client, 'admin', ADMIN_PASSWORD).cookies[COOKIE]}"}
    client.cookies.clear()
    assert client.get("/admin/config", headers=cookie).status_code == 200
    with session_scope(settings.database_url) as db:
        db.exec(update(StaffSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert client.get("/admin/config", headers=cookie).status_code == 401
    page = client.get("/admin/", headers={**cookie, "Accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/admin/login")


def test_a_browser_without_a_session_is_sent_to_the_login_and_back(client: TestClient) -> None:
    page = client.get("/admin/", headers={"Accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/admin/login?next=/admin/"
    form = client.get(page.headers["location"])
    assert form.status_code == 200 and 'name="username"' in form.text and 'type="password"' in form.text
    back = log_in(client, "admin", ADMIN_PASSWORD, params=None)
    assert back.headers["location"] == "/admin/"
    # the login is no open redirect
    elsewhere = client.post("/admin/login", data={"username": "admin", "password": ADMIN_PASSWORD,
                                                  "next": "//evil.example/steal"}, follow_redirects=False)
    assert elsewhere.headers["location"] == "/admin/"


def async_client_at(app, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 40000)),
                             base_url="http://dashboard.test")


async def test_guessing_is_throttled_per_account_and_per_client(app, settings: Settings) -> None:
    add_user(settings.database_url, "alice", ALICE_PASSWORD)

    async def attempt(address: str, username: str, password: str, **headers: str) -> httpx.Response:
        async with async_client_at(app, address) as http:
            return await http.post("/admin/login", data={"username": username, "password": password},
                                   headers=headers)

    # one client guessing the admin's password: five failures, then 429 with Retry-After
    statuses = [(await attempt("203.0.113.1", "admin", f"guess-{i}")).status_code for i in range(5)]
    assert statuses == [401] * 5
    limited = await attempt("203.0.113.1", "admin", "guess-6")
    assert limited.status_code == 429 and "Too many failed logins" in limited.text
    assert 1 <= int(limited.headers["Retry-After"]) <= settings.login_failure_window_seconds
    # the account is locked for every client, even with the right password (it is not checked)
    assert (await attempt("203.0.113.2", "admin", ADMIN_PASSWORD)).status_code == 429
    # an X-Forwarded-For header is no new client unless uvicorn was told to trust the proxy that sent it
    spoofed = [(await attempt("203.0.113.3", f"user{i}", "guess", **{"X-Forwarded-For": f"10.0.0.{i}"})).status_code
               for i in range(6)]
    assert spoofed == [401] * 5 + [429]
    assert (await attempt("203.0.113.3", "alice", ALICE_PASSWORD)).status_code == 429  # that client is locked
    # everyone else signs in as usual
    assert (await attempt("203.0.113.4", "alice", ALICE_PASSWORD)).status_code == 303


async def test_two_dashboard_processes_count_one_guessers_failures_together_in_redis(tmp_path: Path) -> None:
    """A guesser balanced across two dashboard processes gets the limit once, not once per process, when they
    count in Redis (a real redis-server); in memory each process counts only its own share."""
    from dashboard import create_app
    from harness.cluster import start_redis

    redis_proc, address = start_redis(tmp_path, tmp_path / "redis.log")
    try:
        shared = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'staff.db'}",
                          admin_password=ADMIN_PASSWORD, login_throttle_storage=f"redis://{address}")
        processes = [create_app(shared), create_app(shared)]

        async def attempt(app, password: str) -> int:
            async with async_client_at(app, "203.0.113.9") as http:
                return (await http.post("/admin/login", data={"username": "admin", "password": password})).status_code

        assert [await attempt(processes[i % 2], f"guess-{i}") for i in range(6)] == [401] * 5 + [429]
        assert await attempt(processes[1], ADMIN_PASSWORD) == 429  # the account is locked in both
        alone = shared.model_copy(update={"login_throttle_storage": "memory://",
                                          "database_url": f"sqlite:///{tmp_path / 'alone.db'}"})
        apart = [create_app(alone), create_app(alone)]
        assert [await attempt(apart[i % 2], f"guess-{i}") for i in range(6)] == [401] * 6  # 3 each: under the limit
        redis_proc.stop()
        async with async_client_at(processes[0], "203.0.113.10") as http:  # Redis gone: closed, and said why
            down = await http.post("/admin/login", data={"username": "alice", "password": ALICE_PASSWORD})
        assert down.status_code == 503 and "LOGIN_THROTTLE_STORAGE" in down.text
    finally:
        redis_proc.stop()


def test_a_throttle_storage_that_cannot_be_shared_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="LOGIN_THROTTLE_STORAGE"):
        Settings(_env_file=None, login_throttle_storage="memcached://cache:11211")


def test_require_staff_guards_the_csv_export(client: TestClient) -> None:
    api_client = client.get("/admin/exports/profiles.csv")
    assert api_client.status_code == 401 and "/admin/login" in api_client.json()["detail"]
    browser = client.get("/admin/exports/profiles.csv", headers={"Accept": "text/html"}, follow_redirects=False)
    assert browser.status_code == 303 and browser.headers["location"].startswith("/admin/login?next=")
    log_in(client, "admin", ADMIN_PASSWORD)
    allowed = client.get("/admin/exports/profiles.csv")
    assert allowed.status_code == 200 and allowed.text.startswith("profile_id,")


# --- slow: the real dashboard ----------------------------------------------------------------------
@pytest.mark.slow
def test_logout_and_expiry_end_sessions_on_the_real_dashboard(dashboard: Dashboard) -> None:
    settings = dashboard.settings
    with httpx.Client(base_url=dashboard.url, timeout=30) as http:
        signed_in = log_in(http, settings.admin_username, settings.admin_password)
        assert signed_in.status_code == 303
        old = {"Cookie": f"{COOKIE}={signed_in.cookies[COOKIE]}"}
        http.cookies.clear()
        assert http.get("/admin/config", headers=old).status_code == 200
        http.get("/admin/logout", headers=old)
        assert http.get("/admin/config", headers=old).status_code == 401

        again = {"Cookie": f"{COOKIE}={log_in(http, settings.admin_username, settings.admin_password).cookies[COOKIE]}"}
        http.cookies.clear()
        assert http.get("/admin/config", headers=again).status_code == 200
        with session_scope(settings.database_url) as db:  # the session's hours are over
            db.exec(update(StaffSession).where(StaffSession.expires_at > utcnow())
                    .values(expires_at=utcnow() - timedelta(seconds=1)))
        assert http.get("/admin/config", headers=again).status_code == 401


@pytest.mark.slow
def test_login_guessing_is_429_on_the_real_dashboard(tmp_path: Path, artifacts: Path) -> None:
    """A dashboard of its own (the throttle would lock the shared one's admin out of the other tests). uvicorn trusts
    X-Forwarded-For from this machine by default, so each header here stands for another client address."""
    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'guessing.db'}",
                        admin_password="guessing-test-admin-password")
    proc, url = start_dashboard(settings, artifacts / "dashboard-guessing.log")
    try:
        assert users(settings, "add", "bob", password="bob-has-a-long-password").returncode == 0

        def attempt(client: str, username: str, password: str) -> httpx.Response:
            with httpx.Client(base_url=url, timeout=30) as http:
                return log_in(http, username, password, headers={"X-Forwarded-For": client})

        assert [attempt("198.51.100.1", "admin", f"guess-{i}").status_code for i in range(5)] == [401] * 5
        limited = attempt("198.51.100.1", "admin", "guess-6")
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
        assert attempt("198.51.100.2", "admin", settings.admin_password).status_code == 429  # account locked
        assert [attempt("198.51.100.3", f"user{i}", "guess").status_code for i in range(6)] == [401] * 5 + [429]
        assert attempt("198.51.100.4", "bob", "bob-has-a-long-password").status_code == 303
    finally:
        proc.stop()
