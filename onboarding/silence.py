"""When a quiet line really is a silent caller: the words of a turn still on their way are not silence.

The silence timer starts when the caller stops making sound; the turn itself is committed only after the STT's
final transcript and the end-of-turn delay. On a loaded machine (or a slow STT) that gap can outlast the timer,
and a re-prompt then talks over an answer the caller did give. Words transcribed and not yet committed as a
caller turn hold the re-prompt back for one more window; sound without words (noise, a cough) does not.
"""

from __future__ import annotations

import time


class SilenceWatch:
    def __init__(self, window_seconds: float) -> None:
        self.window = window_seconds
        self._words_at = 0.0  # last transcript with words (monotonic seconds)
        self._committed_at = 0.0  # last caller turn committed to the conversation

    def heard(self, transcript: str, now: float | None = None) -> None:
        if transcript.strip():
            self._words_at = time.monotonic() if now is None else now

    def committed(self, now: float | None = None) -> None:
        self._committed_at = time.monotonic() if now is None else now

    def words_pending(self, now: float | None = None) -> bool:
        """Words were heard within the last window and no caller turn took them yet: the caller is not silent."""
        now = time.monotonic() if now is None else now
        return self._words_at > self._committed_at and now - self._words_at < self.window
