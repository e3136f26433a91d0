"""The scripted interviewer's fixed sentences are synthesised once per voice and served from disk; a sentence with
a caller's value in it is never stored."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from onboarding.interview import InterviewState, load_definition, prompts
from onboarding.providers.local_tts import LocalTTS
from onboarding.providers.selection import local_speech
from onboarding.providers.tts_cache import PhraseCache, known_sentences, split_sentences
from onboarding.settings import Settings


def test_every_reply_without_a_value_is_made_of_known_sentences() -> None:
    definition = load_definition()
    known = known_sentences(definition)
    state = InterviewState(definition)
    texts = [state.opening().text]
    for turn, answer in enumerate(["", "Maria Garcia", "nope", "", "Yes.", "I don't know", "bye", "no"], 1):
        reply = state.handle(answer, turn) if answer else state.reprompt()
        texts.append(reply.text)
    value_free = [s for text in texts for s in split_sentences(text) if "Maria" not in s and "Garcia" not in s]
    assert value_free and set(value_free) <= known, set(value_free) - known
    assert {"Is that right?", *prompts.ACKS, definition.field("email").question} <= known


def flite_tts(tmp_path: Path) -> LocalTTS:
    voice = LocalTTS(engine="flite")
    voice.cache = PhraseCache(tmp_path, voice.voice_tag, known_sentences(load_definition()))
    return voice


def test_a_known_sentence_is_synthesised_once_then_served_from_disk(tmp_path: Path) -> None:
    voice = flite_tts(tmp_path)
    first = b"".join(voice.synthesize_blocking("Thanks. What company are you with?"))
    assert voice.cache.misses == 2 and voice.cache.hits == 0
    stored = sorted(p.name for p in (tmp_path / voice.voice_tag).iterdir())
    assert len(stored) == 2 and all(name.endswith(".pcm") for name in stored)
    again = b"".join(voice.synthesize_blocking("Thanks. What company are you with?"))
    assert again == first and voice.cache.hits == 2  # no TTS on a hit: the same bytes, from the files
    other_process = flite_tts(tmp_path)  # another job process with the same voice shares the files
    assert b"".join(other_process.synthesize_blocking("What company are you with?")) == first[-len(
        other_process.cache.get("What company are you with?")):]


def test_a_sentence_with_a_callers_value_is_never_stored(tmp_path: Path) -> None:
    voice = flite_tts(tmp_path)
    pcm = b"".join(voice.synthesize_blocking("I heard maria at example dot com. Is that right?"))
    assert np.frombuffer(pcm, dtype=np.int16).size > voice.sample_rate  # spoken all the same
    stored = list((tmp_path / voice.voice_tag).iterdir())
    assert len(stored) == 1 and stored[0].read_bytes() == voice.cache.get("Is that right?")


def test_warming_fills_every_missing_sentence(tmp_path: Path) -> None:
    voice = LocalTTS(engine="flite")
    voice.cache = PhraseCache(tmp_path, voice.voice_tag, frozenset({"Great.", "Is that right?"}))
    assert voice.cache.warm(voice.synthesize_uncached) == 2 and voice.cache.missing() == []
    assert voice.cache.warm(voice.synthesize_uncached) == 0  # once per voice and machine


async def test_the_stream_serves_hits_and_synthesises_the_rest(tmp_path: Path) -> None:
    voice = flite_tts(tmp_path)
    b"".join(voice.synthesize_blocking("Great. Is that right?"))
    voice.cache.hits = 0
    frames = [ev.frame async for ev in voice.synthesize("Great. I heard Tom Baker. Is that right?")]
    assert frames and voice.cache.hits == 2  # "Great." and "Is that right?" from disk, the name synthesised


def test_selection_gives_the_local_voice_its_cache(tmp_path: Path) -> None:
    _, voice = local_speech(Settings(_env_file=None, tts_engine="flite", tts_cache_dir=str(tmp_path)))
    assert voice.cache is not None and voice.cache.directory == tmp_path / voice.voice_tag
    _, uncached = local_speech(Settings(_env_file=None, tts_engine="flite", tts_cache_dir=""))
    assert uncached.cache is None
