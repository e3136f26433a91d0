"""One settings object for every process; a bad value fails at start-up naming the variable."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from onboarding.secret_checks import MIN_ADMIN_PASSWORD, is_shipped_example

REPO_ROOT = Path(__file__).resolve().parent.parent
DEV_KEY, DEV_SECRET = "devkey", "secret"
PLACEHOLDER_PASSWORDS = {"admin", "password", "changeme", "change-me", "secret", "123456"}


def is_local_url(url: str) -> bool:
    """True when the LiveKit URL points at this machine (the dev server `make run` starts)."""
    host = urlparse(url).hostname or ""
    return host in {"127.0.0.1", "localhost", "::1"}


class Settings(BaseSettings):
    """Every setting is listed, with a comment, in `.env.example` (a test keeps them in step)."""

    model_config = SettingsConfigDict(env_file=REPO_ROOT / ".env", extra="ignore")

    livekit_url: str = "ws://127.0.0.1:7880"
    livekit_api_key: str = DEV_KEY
    livekit_api_secret: str = DEV_SECRET
    livekit_server_bin: str = ""
    livekit_rtc_port: int = 7881
    livekit_udp_port: int = 7882

    agent_name: str = "onboarding"
    room_prefix: str = "onboarding-"
    token_ttl_seconds: int = Field(600, ge=30, le=86400)
    caller_video: bool = True  # callers may publish camera and screen share (Gemini sees the frames)
    max_calls_per_client: int = Field(5, ge=0)  # calls granted at once to one client address; 0 = no cap

    database_url: str = f"sqlite:///{REPO_ROOT / 'data' / 'onboarding.db'}"
    interview_path: Path = REPO_ROOT / "data" / "interview.toml"
    spool_dir: Path = REPO_ROOT / "data" / "spool"  # call writes the database has not taken yet, per process
    call_heartbeat_seconds: float = Field(10.0, ge=0.5, le=60)
    call_lost_after_seconds: float = Field(30.0, ge=2)
    transcript_retention_days: int = Field(0, ge=0)  # 0 = keep transcripts forever

    stt_model_dir: str = ""
    stt_beam_size: int = Field(5, ge=1, le=10)
    tts_engine: Literal["piper", "flite"] = "piper"
    piper_voice_path: str = ""
    flite_voice: str = "slt"
    # the scripted interviewer's known sentences, synthesised once per voice (empty: no cache)
    tts_cache_dir: str = str(REPO_ROOT / "data" / "cache" / "tts")
    # Whisper starts transcribing after this much silence instead of the VAD's end of speech (0: off)
    stt_speculate_after_seconds: float = Field(0.06, ge=0, le=1)
    # While another answer is being decoded, Whisper's encoder reads the utterance and this many seconds instead of
    # its whole 30 s window: ≈ 40 % less CPU for ≈ 1 point of fields (bench.whisper_speed). 0: always the window
    stt_busy_window_margin_seconds: float = Field(16.0, ge=0, le=30)
    # Cloud providers: a key selects the provider for its role; an empty key keeps the local one
    deepgram_api_key: str = ""
    deepgram_base_url: str = "https://api.deepgram.com/v1/listen"
    deepgram_model: str = "nova-3"
    google_api_key: str = ""
    gemini_base_url: str = "https://generativelanguage.googleapis.com"
    gemini_model: str = "gemini-2.5-flash"
    eleven_api_key: str = ""
    elevenlabs_base_url: str = "https://api.elevenlabs.io/v1"
    elevenlabs_voice_id: str = "hpp4J3VqNfWAUOO0d1Us"
    elevenlabs_model: str = "eleven_flash_v2_5"

    job_executor: Literal["thread", "process"] = "process"
    worker_http_port: int = 8081
    worker_http_host: str = "127.0.0.1"  # 0.0.0.0 in a container, so probes from outside reach it
    worker_health_url: str = ""  # where the dashboard and doctor probe the worker; empty = this machine
    worker_metrics_port: int = Field(9100, ge=0, le=65535)  # Prometheus /metrics of the worker; 0 = off
    worker_metrics_host: str = "127.0.0.1"
    worker_load_threshold: float = Field(0.9, gt=0, le=1)
    max_jobs_per_worker: int = Field(3, ge=1)  # `make bench`: ≈ 3 local-speech calls per 2-core worker
    busy_retry_seconds: int = Field(10, ge=1, le=300)  # every worker full: callers are told to retry after this
    # livekit-agents' event-loop watchdog in every job process: it wakes twice per tick, a tick being a fifth of this
    # (20..50 ms); 0 turns it off
    loop_block_warn_ms: int = Field(250, ge=0, le=10000)
    endpointing_min_delay: float = Field(0.3, ge=0, le=5)
    endpointing_max_delay: float = Field(0.65, gt=0, le=10)
    auto_gain_control: bool = False  # WebRTC automatic gain control on the caller's audio (costs CPU per frame)
    reprompt_after_silence_seconds: float = Field(8.0, ge=2)
    max_silent_reprompts: int = Field(3, ge=1)
    # after "hang on, someone's at the door": how long the line may stay quiet before the agent asks again
    wait_for_caller_seconds: float = Field(45.0, ge=2)
    agent_join_timeout_seconds: float = Field(20.0, gt=0)

    dashboard_host: str = "127.0.0.1"
    dashboard_port: int = 8000
    admin_username: str = "admin"
    admin_password: str = "admin"
    staff_session_hours: float = Field(12.0, gt=0, le=24 * 30)
    login_max_failures: int = Field(5, ge=1)  # failed logins per account and per client address ...
    login_failure_window_seconds: int = Field(900, ge=1)  # ... within this window, then 429
    # where failed logins are counted: memory:// (one dashboard process) or redis://host:6379 (shared by several)
    login_throttle_storage: str = "memory://"
    talk_page_public: bool = True
    embed_allowed_origins: str = ""  # comma-separated origins whose pages may embed the voice widget
    dev_mode: bool = False
    pricing_path: Path = REPO_ROOT / "data" / "pricing.toml"
    capacity_path: Path = REPO_ROOT / "docs" / "capacity.json"  # what `make bench` measured; doctor compares
    # REST push-to-talk mode (/api/livekit/agent/*) and request limits of the REST routes
    rest_max_audio_bytes: int = Field(5_000_000, ge=10_000, le=100_000_000)
    rest_max_audio_seconds: float = Field(30.0, gt=0, le=600)
    rest_session_idle_seconds: float = Field(600.0, ge=10)
    rest_api_keys: str = ""  # comma-separated keys of server-side integrations (Authorization: Bearer <key>)
    rate_limit_per_minute: int = Field(60, ge=1)
    rate_limit_burst: int = Field(20, ge=1)
    metrics_token: str = ""  # bearer token for the dashboard's GET /metrics; empty = this machine only
    # The console: audio of every turn, the review queue, the funnel, cost forecast and budget, webhooks
    audio_capture: bool = True  # the worker keeps each turn's audio (Opus in OGG) for staff to play back
    audio_storage_path: Path = REPO_ROOT / "data" / "audio"
    audio_retention_days: int = Field(30, ge=0)  # 0 = keep until the profile is deleted
    review_confidence_below: float = Field(0.7, ge=0, le=1)  # values heard with less go to the review queue
    livekit_plan: str = "free"  # the plan in pricing.toml whose included minutes the forecast runs against
    monthly_budget: float = Field(0.0, ge=0)  # in pricing.toml's display currency; 0 = no budget
    webhook_urls: str = ""  # comma-separated https URLs told of profiles completed, reviewed and deleted
    webhook_secret: str = ""  # signs each webhook (HMAC-SHA256); required with WEBHOOK_URLS
    webhook_max_attempts: int = Field(8, ge=1, le=30)
    webhook_backoff_seconds: float = Field(10.0, gt=0, le=3600)  # first retry; doubles each time, capped at 1 h
    webhook_timeout_seconds: float = Field(10.0, gt=0, le=120)
    console_poll_seconds: float = Field(2.0, gt=0, le=300)  # how often the dashboard digests closed calls

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("livekit_url")
    @classmethod
    def _url_scheme(cls, value: str) -> str:
        parsed = urlparse(value)
        if parsed.scheme not in {"ws", "wss", "http", "https"} or not parsed.hostname:
            raise ValueError(
                f"LIVEKIT_URL={value!r} must look like ws://host:7880 or wss://project.livekit.cloud"
            )
        return value

    @field_validator("database_url", mode="before")
    @classmethod
    def _default_database(cls, value: str | None) -> str:
        return value or f"sqlite:///{REPO_ROOT / 'data' / 'onboarding.db'}"

    @field_validator("interview_path", "pricing_path", "capacity_path", "spool_dir", mode="after")
    @classmethod
    def _relative_to_repo(cls, value: Path) -> Path:
        return value if value.is_absolute() else REPO_ROOT / value

    @field_validator("tts_cache_dir", mode="after")
    @classmethod
    def _cache_relative_to_repo(cls, value: str) -> str:
        return str(REPO_ROOT / value) if value.strip() and not Path(value).is_absolute() else value.strip()

    @field_validator("deepgram_base_url", "gemini_base_url", "elevenlabs_base_url")
    @classmethod
    def _http_url(cls, value: str, info) -> str:
        parsed = urlparse(value)
        if parsed.scheme not in {"http", "https", "ws", "wss"} or not parsed.hostname:
            raise ValueError(f"{info.field_name.upper()}={value!r} must be an http(s) URL")
        return value.rstrip("/")

    @field_validator("worker_health_url")
    @classmethod
    def _health_url(cls, value: str) -> str:
        parsed = urlparse(value)
        if value and (parsed.scheme not in {"http", "https"} or not parsed.hostname):
            raise ValueError(f"WORKER_HEALTH_URL={value!r} must look like http://worker:8081 (or be empty)")
        return value

    @field_validator("login_throttle_storage")
    @classmethod
    def _throttle_storage(cls, value: str) -> str:
        if urlparse(value).scheme not in {"memory", "redis", "rediss"}:
            raise ValueError(f"LOGIN_THROTTLE_STORAGE={value!r} must be memory:// or redis://host:6379 (rediss:// "
                             "for TLS): several dashboard processes must count failed logins in one place")
        return value

    @field_validator("room_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not value or not value.replace("-", "").replace("_", "").isalnum():
            raise ValueError("ROOM_PREFIX must be letters, digits, '-' or '_'")
        return value

    @field_validator("audio_storage_path", mode="after")
    @classmethod
    def _storage_relative_to_repo(cls, value: Path) -> Path:
        return value if value.is_absolute() else REPO_ROOT / value

    @field_validator("webhook_urls")
    @classmethod
    def _webhook_urls(cls, value: str) -> str:
        for url in (part.strip() for part in value.split(",")):
            parsed = urlparse(url)
            if url and (parsed.scheme not in {"http", "https"} or not parsed.hostname):
                raise ValueError(f"WEBHOOK_URLS: {url!r} must be an http(s) URL (comma-separated for several)")
        return value

    @model_validator(mode="after")
    def _webhooks_need_a_secret(self) -> Settings:
        if self.webhook_endpoints and len(self.webhook_secret) < 16:
            raise ValueError("WEBHOOK_SECRET must be at least 16 characters when WEBHOOK_URLS is set: receivers "
                             "check each request's signature with it")
        return self

    @model_validator(mode="after")
    def _heartbeats_before_lost(self) -> Settings:
        if self.call_lost_after_seconds < 2 * self.call_heartbeat_seconds:
            raise ValueError(f"CALL_LOST_AFTER_SECONDS={self.call_lost_after_seconds:g} must be at least twice "
                             f"CALL_HEARTBEAT_SECONDS={self.call_heartbeat_seconds:g}: one late heartbeat must not "
                             "close a live call")
        return self

    @model_validator(mode="after")
    def _remote_needs_real_secret(self) -> Settings:
        if not self.uses_local_server:
            if (self.livekit_api_key, self.livekit_api_secret) == (DEV_KEY, DEV_SECRET):
                raise ValueError(
                    "LIVEKIT_URL points at a remote server but LIVEKIT_API_KEY/LIVEKIT_API_SECRET are "
                    "the dev defaults: set the keys of that server or project"
                )
            if len(self.livekit_api_secret) < 32:
                raise ValueError("LIVEKIT_API_SECRET must be at least 32 characters for a remote server")
        return self

    def admin_password_problem(self) -> str | None:
        """Why the dashboard must not start with this login, or None. `make run` sets DEV_MODE for local use."""
        if self.dev_mode:
            return None
        if not self.admin_password.strip():
            return "ADMIN_PASSWORD is empty: set a password for the admin pages (or DEV_MODE=true for local use)"
        if self.admin_password.strip().lower() in PLACEHOLDER_PASSWORDS:
            return (f"ADMIN_PASSWORD is the placeholder {self.admin_password!r}: set a real password for the admin "
                    "pages (or DEV_MODE=true for local use)")
        if is_shipped_example(self.admin_password):
            return ("ADMIN_PASSWORD is a value shipped in this repository's examples: set a password of your own "
                    "(or DEV_MODE=true for local use)")
        if len(self.admin_password) < MIN_ADMIN_PASSWORD:
            return (f"ADMIN_PASSWORD is shorter than {MIN_ADMIN_PASSWORD} characters: set a longer password for the "
                    "admin pages (or DEV_MODE=true for local use)")
        return None

    @property
    def api_keys(self) -> list[str]:
        """REST_API_KEYS as a list (comma-separated, blanks dropped)."""
        return [key.strip() for key in self.rest_api_keys.split(",") if key.strip()]

    @property
    def worker_health_base(self) -> str:
        """The worker's health port as the dashboard and doctor reach it: WORKER_HEALTH_URL, else this machine."""
        return self.worker_health_url.rstrip("/") or f"http://127.0.0.1:{self.worker_http_port}"

    @property
    def embed_origins(self) -> list[str]:
        return [origin.strip().rstrip("/") for origin in self.embed_allowed_origins.split(",") if origin.strip()]

    @property
    def webhook_endpoints(self) -> list[str]:
        return [url.strip() for url in self.webhook_urls.split(",") if url.strip()]

    @property
    def uses_local_server(self) -> bool:
        return is_local_url(self.livekit_url)

    @property
    def livekit_http_url(self) -> str:
        """The server API speaks HTTP on the same host and port as the WebSocket URL."""
        return self.livekit_url.replace("wss://", "https://", 1).replace("ws://", "http://", 1)

    @property
    def livekit_port(self) -> int:
        return urlparse(self.livekit_url).port or 7880


@lru_cache
def get_settings() -> Settings:
    return Settings()
