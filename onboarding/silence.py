"""When a quiet line really is a silent caller: the words of a turn still on their way are not silence.

The silence timer starts when the caller stops making sound; the turn itself is committed only after the STT's
final transcript and the end-of-turn delay. On a loaded machine (or a slow STT) that gap can outlast the timer,
and a re-prompt then talks over an answer the caller did give (seen: the re-prompt played, then the caller's
answer was committed a second later). Words transcribed and not yet committed as a caller turn hold the re-prompt
back for one more window; sound without words (noise, a cough) does not. A caller still speaking (a spelled address
runs 20-50 s) or speech still being transcribed (a long one can take seconds on a loaded machine) is no silence
either: seen, the re-prompt talked over a caller spelling her address, counted as a failed try, and the address
was given up on while she spelled it.
"""

from __future__ import annotations

import time


class SilenceWatch:
    def __init__(self) -> None:
        self._words_at = 0.0  # last transcript with words (monotonic seconds)
        self._committed_at = 0.0  # last caller turn committed to the conversation
        self._held_for = 0.0  # the words a re-prompt was already held back for
        self._waiting = False  # the caller asked for a moment ("hang on, someone's at the door")

    def replied(self, *, caller_waiting: bool) -> None:
        """The interviewer answered a caller turn; `caller_waiting`: that turn asked for a moment."""
        self._waiting = caller_waiting

    def window(self, reprompt_after: float, wait_for_caller: float) -> float:
        """Seconds of quiet before the agent asks again: longer for a caller who asked for a moment, once."""
        return wait_for_caller if self._waiting else reprompt_after

    def reprompted(self) -> None:
        """The agent asked again: a caller still away after their moment is a silent caller from now on."""
        self._waiting = False

    def heard(self, transcript: str, now: float | None = None) -> None:
        if transcript.strip():
            self._words_at = time.monotonic() if now is None else now

    def committed(self, now: float | None = None) -> None:
        self._committed_at = time.monotonic() if now is None else now

    def hold(self, *, caller_speaking: bool = False, transcribing: bool = False) -> bool:
        """True when the caller is not silent, so wait one more window: speaking now, speech still being
        transcribed, or (once per burst of words) words heard that no caller turn took yet. Words that never become
        a turn stop holding after that window."""
        if caller_speaking or transcribing:
            return True
        if self._words_at <= self._committed_at or self._words_at == self._held_for:
            return False
        self._held_for = self._words_at
        return True
