"""pytest fixtures for the fakes: import them into a test module (`from harness.fakes.fixtures import *`).

One fake per service for the whole session (Whisper and the voice load once); each test gets it reset to
normal service, so a fault set by one test never leaks into the next.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.fakes.deepgram import FakeDeepgram
from harness.fakes.elevenlabs import FakeElevenLabs
from harness.fakes.gemini import FakeGemini
from onboarding.settings import Settings

DEEPGRAM_KEY = "fake-deepgram-key"
ELEVEN_KEY = "fake-eleven-key"
GOOGLE_KEY = "fake-google-key"


@pytest.fixture(scope="session")
def deepgram_server() -> Iterator[FakeDeepgram]:
    fake = FakeDeepgram(DEEPGRAM_KEY).start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture(scope="session")
def elevenlabs_server() -> Iterator[FakeElevenLabs]:
    fake = FakeElevenLabs(ELEVEN_KEY).start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture(scope="session")
def gemini_server() -> Iterator[FakeGemini]:
    fake = FakeGemini(GOOGLE_KEY).start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def fake_gemini(gemini_server: FakeGemini) -> Iterator[FakeGemini]:
    gemini_server.reset()
    yield gemini_server
    gemini_server.reset()


@pytest.fixture
def fake_deepgram(deepgram_server: FakeDeepgram) -> Iterator[FakeDeepgram]:
    deepgram_server.reset()
    yield deepgram_server
    deepgram_server.reset()


@pytest.fixture
def fake_elevenlabs(elevenlabs_server: FakeElevenLabs) -> Iterator[FakeElevenLabs]:
    elevenlabs_server.reset()
    yield elevenlabs_server
    elevenlabs_server.reset()


def cloud_settings(base: Settings, deepgram: FakeDeepgram | None = None, eleven: FakeElevenLabs | None = None,
                   gemini: FakeGemini | None = None, **overrides) -> Settings:
    """Settings that point the plugins at the fakes (with the fakes' keys unless overridden)."""
    update: dict = {}
    if deepgram is not None:
        update |= {"deepgram_api_key": DEEPGRAM_KEY, "deepgram_base_url": deepgram.base_url}
    if eleven is not None:
        update |= {"eleven_api_key": ELEVEN_KEY, "elevenlabs_base_url": eleven.base_url, "tts_engine": "flite"}
    if gemini is not None:
        update |= {"google_api_key": GOOGLE_KEY, "gemini_base_url": gemini.base_url}
    return base.model_copy(update={**update, **overrides})


def cloud_env(settings: Settings) -> dict[str, str]:
    """The same as environment variables, for a worker process."""
    return {"DEEPGRAM_API_KEY": settings.deepgram_api_key, "DEEPGRAM_BASE_URL": settings.deepgram_base_url,
            "DEEPGRAM_MODEL": settings.deepgram_model, "ELEVEN_API_KEY": settings.eleven_api_key,
            "ELEVENLABS_BASE_URL": settings.elevenlabs_base_url, "ELEVENLABS_VOICE_ID": settings.elevenlabs_voice_id,
            "ELEVENLABS_MODEL": settings.elevenlabs_model, "GOOGLE_API_KEY": settings.google_api_key,
            "GEMINI_BASE_URL": settings.gemini_base_url, "GEMINI_MODEL": settings.gemini_model}
