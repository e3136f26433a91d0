"""The scripted interviewer's sentences, synthesised once per voice and kept on disk.

Everything the scripted interviewer says is known ahead except the values it reads back: the greeting, every
question and re-ask, the hints, acknowledgements, apologies and goodbyes. Those sentences are synthesised once
per voice (keyed by voice and text) and served from the cache afterwards, so a reply made of them costs no TTS.
Only these sentences are ever stored: a sentence that carries a caller's value ("I heard maria at example dot
com.") is never written to disk. The files are shared by every process on the machine (jobs read them directly;
the page cache keeps them in memory) and survive restarts, so warming costs once per voice and machine.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path

from livekit.agents import tokenize

from onboarding.interview import InterviewDefinition, prompts
from onboarding.interview.spelled_parts import PARTS

log = logging.getLogger("onboarding.tts")
# The goodbye of the silence watchdog (onboarding/call.py), the one sentence said outside the interview state.
SILENT_GOODBYE = "I can't hear you, so I'll end the call here. You can call back any time. Goodbye."


@lru_cache(maxsize=1)
def sentence_tokenizer() -> tokenize.SentenceTokenizer:
    """One sentence per piece (no merging of short ones): the unit the cache stores and the TTS is fed."""
    return tokenize.blingfire.SentenceTokenizer(retain_format=True, min_sentence_len=1)


def normal(text: str) -> str:
    return " ".join(text.split())


def split_sentences(text: str) -> list[str]:
    return [s for s in (normal(piece) for piece in sentence_tokenizer().tokenize(text)) if s]


def scripted_texts(definition: InterviewDefinition) -> list[str]:
    """Every text the scripted interviewer can say that holds no caller value (replies join these)."""
    texts = [definition.greeting, definition.goodbye, prompts.early_goodbye(definition), SILENT_GOODBYE,
             "Okay, let's carry on.", "Is that right?", "That's everything.", *prompts.ACKS,
             prompts.NOT_CAUGHT, prompts.NOT_HEARD, prompts.SORRY, prompts.YES_OR_NO, prompts.OKAY,
             prompts.MOVE_ON, prompts.NO_PROBLEM, prompts.NEEDED, prompts.SKIP, prompts.TALKED_OVER,
             prompts.JUST_TO_CHECK]
    for spec in definition.fields:
        texts += [*spec.questions, spec.hint or "", prompts.follow_up_later(spec), prompts.ask_again_for(spec),
                  prompts.invalid_message(spec)]
        if prompts.can_spell(spec):
            texts += [prompts.ask_to_spell(spec), prompts.ask_to_spell(spec, wrong_part=True)]
        texts += [prompts.ask_for_part(part) for part in PARTS.get(spec.kind, ())]
        texts += [prompts.reask(spec, attempt) for attempt in range(1, definition.max_attempts + 1)]
        if spec.required:
            texts.append(prompts.confirm_stop([spec.label]))
    return [t for t in texts if t.strip()]


def known_sentences(definition: InterviewDefinition) -> frozenset[str]:
    return frozenset(s for text in scripted_texts(definition) for s in split_sentences(text))


class PhraseCache:
    """PCM of known sentences for one voice: `<dir>/<voice>/<sha1 of text>.pcm` (int16 mono at the voice's rate)."""

    def __init__(self, directory: Path, voice: str, known: frozenset[str]) -> None:
        self.directory = Path(directory) / voice
        self.known = known
        self.hits = self.misses = 0

    def _path(self, sentence: str) -> Path:
        return self.directory / f"{hashlib.sha1(sentence.encode()).hexdigest()}.pcm"

    def knows(self, sentence: str) -> bool:
        return normal(sentence) in self.known

    def get(self, sentence: str) -> bytes | None:
        """The cached audio of a known sentence, or None (unknown sentences are never looked up or stored)."""
        sentence = normal(sentence)
        if sentence not in self.known:
            return None
        try:
            pcm = self._path(sentence).read_bytes()
        except OSError:
            self.misses += 1
            return None
        self.hits += 1
        return pcm

    def put(self, sentence: str, pcm: bytes) -> None:
        sentence = normal(sentence)
        if sentence not in self.known or not pcm:
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.directory, suffix=".tmp", delete=False) as out:
                out.write(pcm)
            os.replace(out.name, self._path(sentence))  # readers see the whole file or none
        except OSError as exc:
            log.warning("could not store a sentence in the TTS cache: %s", exc)

    def missing(self) -> list[str]:
        return sorted(s for s in self.known if not self._path(s).is_file())

    def warm(self, synthesize: Callable[[str], Iterable[bytes]]) -> int:
        """Synthesise every known sentence not on disk yet; returns how many were added."""
        added = 0
        for sentence in self.missing():
            self.put(sentence, b"".join(synthesize(sentence)))
            added += 1
        return added

    def warm_in_background(self, synthesize: Callable[[str], Iterable[bytes]]) -> threading.Thread:
        def run() -> None:
            try:
                added = self.warm(synthesize)
                log.info("tts cache warm", extra={"added": added, "sentences": len(self.known)})
            except Exception:
                log.exception("warming the TTS cache failed")

        thread = threading.Thread(target=run, name="tts-cache-warm", daemon=True)
        thread.start()
        return thread
