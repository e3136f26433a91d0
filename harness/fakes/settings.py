"""Settings and worker environment that point the cloud plugins at the local fakes, with the fakes' keys."""

from __future__ import annotations

from harness.fakes.deepgram import FakeDeepgram
from harness.fakes.elevenlabs import FakeElevenLabs
from harness.fakes.gemini import FakeGemini
from onboarding.settings import Settings

DEEPGRAM_KEY = "fake-deepgram-key"
ELEVEN_KEY = "fake-eleven-key"
GOOGLE_KEY = "fake-google-key"


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
