"""The start-up check of the cloud keys: a refused key stops the process with a message naming the variable.

Apart from `selection` so that the agent worker's main process, which runs it once, imports only what it needs
(the Deepgram and ElevenLabs plugins; Gemini's SDK only when GOOGLE_API_KEY is set), not every provider.
"""

from __future__ import annotations

import logging

from onboarding.providers import cloud
from onboarding.settings import Settings

log = logging.getLogger("onboarding.providers")
_CHECKED: set[tuple[str, ...]] = set()


def check_cloud_keys(settings: Settings) -> None:
    """Once per process and configuration: a refused key stops start-up with a message naming the variable."""
    key = (settings.deepgram_api_key, settings.deepgram_base_url, settings.deepgram_model, settings.eleven_api_key,
           settings.elevenlabs_base_url, settings.elevenlabs_voice_id, settings.google_api_key,
           settings.gemini_base_url, settings.gemini_model)
    if key not in _CHECKED:
        cloud.check(settings)
        if settings.google_api_key:
            from onboarding.providers.gemini_interviewer import check_gemini

            for warning in check_gemini(settings):
                log.warning(warning)
        _CHECKED.add(key)


def check_or_exit(settings: Settings) -> None:
    try:
        check_cloud_keys(settings)
    except cloud.ProviderKeyError as exc:
        log.error("%s", exc)
        raise SystemExit(f"cloud provider check failed: {exc}") from None
