"""The silence watchdog's rule: words transcribed but not yet committed as a caller turn are not silence."""

from onboarding.silence import SilenceWatch


def test_words_on_their_way_hold_the_reprompt_back_for_one_window() -> None:
    watch = SilenceWatch()
    assert not watch.hold()  # nothing heard: a silent caller
    watch.heard("  ", now=11.0)
    assert not watch.hold()  # sound without words (noise) is silence
    watch.heard("My name is", now=12.0)
    watch.heard("My name is Maria Garcia.", now=13.0)
    assert watch.hold()  # the STT heard words; the turn is still being committed: wait one more window
    assert not watch.hold()  # still no turn after that window: the caller is silent after all
    watch.heard("Maria Garcia, sorry", now=20.0)
    assert watch.hold()  # new words: held back again
    watch.committed(now=21.0)
    assert not watch.hold()  # the turn was taken: the next silence is real


def test_a_caller_still_speaking_or_being_transcribed_is_not_silent() -> None:
    """Seen in a spoken call: a caller spelling her address for 50 s with a word per letter was re-prompted twice
    over her own answer, and a 10 s spelling still being transcribed (7 s on a loaded machine) was talked over;
    each re-prompt counted as a failed try and the address was given up on."""
    watch = SilenceWatch()
    assert watch.hold(caller_speaking=True)
    assert watch.hold(caller_speaking=True)  # however long the answer: never once only
    assert watch.hold(transcribing=True)
    assert not watch.hold()  # quiet, nothing on its way: silence


def test_a_caller_who_asked_for_a_moment_gets_a_longer_quiet_once() -> None:
    """"Hang on, someone's at the door.": the agent says "take your time", and the usual 8 s of quiet would re-prompt
    (and, three times over, end the call) while the caller is away. The quiet allowed is the longer one until the
    caller's next turn or the agent's next re-prompt."""
    watch = SilenceWatch()
    assert watch.window(8.0, 45.0) == 8.0
    watch.replied(caller_waiting=True)
    assert watch.window(8.0, 45.0) == 45.0
    assert watch.window(8.0, 45.0) == 45.0  # the timer is armed again while the agent listens: still the long one
    watch.reprompted()
    assert watch.window(8.0, 45.0) == 8.0  # still away after their moment: silent from now on
    watch.replied(caller_waiting=True)
    watch.replied(caller_waiting=False)  # back, with an answer
    assert watch.window(8.0, 45.0) == 8.0
