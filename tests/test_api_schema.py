"""Property-based: schemathesis sends generated valid and invalid requests to every REST operation in-process
(no network), from the app's own /openapi.json — the original design's routes and the widget's (field list,
stored profile); no answer may be a 5xx or differ from what the schema says."""

from __future__ import annotations

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from onboarding.api import install_error_handlers, router
from onboarding.api.widget import router as widget_router
from onboarding.settings import Settings, get_settings

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]


FUZZ_API_KEY = "schema-fuzz-integration-key"  # lets generated turns and completes past the credential check
_SETTINGS: dict[str, Settings] = {}  # filled by the fixture below: the schema is loaded at import, the app runs later


def _build_app() -> FastAPI:
    app = FastAPI(title="Voice Onboarding Console")
    app.include_router(router)
    app.include_router(widget_router)
    install_error_handlers(app)
    app.dependency_overrides[get_settings] = lambda: _SETTINGS["current"]
    return app


def _with_room_pattern(raw: dict) -> dict:
    """Teach the generator what a valid roomName looks like (the server checks it against ROOM_PREFIX at run
    time, so the published schema only bounds the length): otherwise almost every case stops at that 400."""
    pattern = {"pattern": r"^onboarding-[a-z0-9][a-z0-9-]{3,47}$"}
    components = raw["components"]["schemas"]
    for name in ("StartRequest", "CompleteRequest"):
        components[name]["properties"]["roomName"].update(pattern)
    for form in ("Body_agent_turn", "Body_agent_correct"):
        body = next(s for n, s in components.items() if n.startswith(form))
        body["properties"]["roomName"].update(pattern)
    return raw


# Loaded once at import (schemathesis' lazy fixture loader does not run on pytest 9): /openapi.json needs no settings.
_app = _build_app()
schema = schemathesis.openapi.from_dict(_with_room_pattern(_app.openapi()))
schema.app = _app


@schema.auth().apply_to(path_regex=r"/agent/(turn|complete)$")
class IntegrationKey:
    """Turns and completes carry an integration's REST_API_KEYS key, so generated requests reach the room and
    audio checks behind the credential (the 401/403 answers have their own tests in test_access.py)."""

    def get(self, case, context) -> str:
        return FUZZ_API_KEY

    def set(self, case, data: str, context) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.fixture(scope="module", autouse=True)
def app_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    db = tmp_path_factory.mktemp("schema") / "rest.db"
    # rate limits high and no per-client call cap: this test is about input handling; the limits have their own
    # tests (test_rest_errors.py, test_access.py)
    _SETTINGS["current"] = Settings(_env_file=None, database_url=f"sqlite:///{db}", rate_limit_per_minute=100_000,
                                    rate_limit_burst=100_000, rest_max_audio_bytes=200_000,
                                    max_calls_per_client=0, rest_api_keys=FUZZ_API_KEY)
    return _SETTINGS["current"]


def test_every_error_is_documented_with_a_detail_string() -> None:
    raw = schema.raw_schema
    paths = raw["paths"]
    assert set(paths) == {"/api/livekit/token", "/api/livekit/agent/start", "/api/livekit/agent/turn",
                          "/api/livekit/agent/complete", "/api/livekit/agent/correct", "/api/livekit/interview",
                          "/api/livekit/profile"}
    expected = {"/api/livekit/token": {"200", "400", "409", "413", "422", "429", "503"},
                "/api/livekit/agent/start": {"200", "400", "401", "409", "413", "422", "429"},
                "/api/livekit/agent/turn": {"200", "400", "401", "403", "404", "409", "413", "415", "422", "429"},
                "/api/livekit/agent/complete": {"200", "400", "401", "403", "404", "409", "413", "422", "429"},
                "/api/livekit/agent/correct": {"200", "400", "401", "403", "404", "409", "413", "422", "429"}}
    for path, statuses in expected.items():
        responses = paths[path]["post"]["responses"]
        assert set(responses) == statuses, path
        for status in statuses - {"200"}:
            ref = responses[status]["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/ErrorBody"), (path, status)
    assert raw["components"]["schemas"]["ErrorBody"]["properties"]["detail"]["type"] == "string"
    assert "Retry-After" in paths["/api/livekit/token"]["post"]["responses"]["429"]["headers"]
    # the session credential is a documented bearer scheme on the routes that need it
    bearer = raw["components"]["securitySchemes"]["sessionToken"]
    assert (bearer["type"], bearer["scheme"]) == ("http", "bearer")
    for path in ("/api/livekit/agent/turn", "/api/livekit/agent/complete"):
        assert paths[path]["post"]["security"] == [{"sessionToken": []}]
    profile = paths["/api/livekit/profile"]["get"]["responses"]
    assert {"200", "401", "403", "404"} <= set(profile)
    assert "Retry-After" in paths["/api/livekit/token"]["post"]["responses"]["503"]["headers"]  # all agents busy


@schema.parametrize()
@settings(max_examples=30, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_no_5xx_and_answers_match_the_schema(case) -> None:
    case.call_and_validate(checks=CHECKS)
