"""The silence watchdog's rule: words transcribed but not yet committed as a caller turn are not silence."""

from onboarding.silence import SilenceWatch


def test_words_on_their_way_hold_the_reprompt_back_for_one_window() -> None:
    watch = SilenceWatch(4.0)
    assert not watch.words_pending(now=10.0)  # nothing heard: a silent caller
    watch.heard("  ", now=11.0)
    assert not watch.words_pending(now=12.0)  # sound without words (noise) is silence
    watch.heard("My name is Maria", now=13.0)
    assert watch.words_pending(now=15.0)  # the STT heard words; the turn is still being committed
    assert not watch.words_pending(now=17.5)  # never committed within a window: counting silence again
    watch.committed(now=15.5)
    assert not watch.words_pending(now=16.0)  # the turn was taken: the next silence is real
