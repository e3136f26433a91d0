"""A caller inside headless Chromium that answers the agent's questions as they come.

Chromium's fake microphone plays one WAV file on a fixed timeline: it cannot wait for a re-asked
question, so on a loaded machine later answers drift onto other questions. This caller keeps the
whole browser path real (the page's widget, getUserMedia, Opus, WebRTC to livekit-server) but feeds
the microphone track from Web Audio and speaks each answer only when the agent has finished a turn,
choosing it from what the agent asks — the same choice as the reactive simulated caller.
"""

from __future__ import annotations

import base64
import json

from harness.caller_audio import ROOM_RATE, answer_audio
from harness.simcaller import reactive_answer
from onboarding.audio_upload import wav_bytes

WIDGET = "[data-voice-onboarding]"

# Run before any page script: audio-only getUserMedia returns a Web Audio track that `__callerMic.say`
# plays WAV clips into (silence between them, like an open microphone). Video requests are untouched.
REACTIVE_MIC_SCRIPT = """
(() => {
  const devices = navigator.mediaDevices;
  const original = devices.getUserMedia.bind(devices);
  let context = null, destination = null;
  const ensure = async () => {
    if (!context) {
      context = new AudioContext({ sampleRate: 48000 });
      destination = context.createMediaStreamDestination();
    }
    await context.resume();
  };
  window.__callerMic = {
    async say(wavBase64) {
      await ensure();
      const bytes = Uint8Array.from(atob(wavBase64), (c) => c.charCodeAt(0));
      const buffer = await context.decodeAudioData(bytes.buffer);
      const source = context.createBufferSource();
      source.buffer = buffer;
      source.connect(destination);
      await new Promise((resolve) => { source.onended = resolve; source.start(); });
    },
  };
  devices.getUserMedia = async (constraints) => {
    if (!constraints || !constraints.audio || constraints.video) return original(constraints);
    await ensure();
    return new MediaStream([destination.stream.getAudioTracks()[0].clone()]);
  };
})();
"""

# True once the call is over, or once the agent has finished more turns than the caller has seen.
AGENT_DONE_SPEAKING = """([selector, seen]) => {
  const root = document.querySelector(selector);
  if (!root) return false;
  if (["completed", "idle", "error"].includes(root.dataset.state)) return true;
  return Number(root.dataset.agentTurns || 0) > seen;
}"""

AGENT_ATTRIBUTES = """(selector) => {
  const agent = document.querySelector(selector).voiceOnboarding.agent();
  return agent ? Object.fromEntries(Object.entries(agent.attributes || {})) : {};
}"""


def wav_base64(text: str, voice: str = "slt") -> str:
    return base64.b64encode(wav_bytes(answer_audio(text, voice), ROOM_RATE)).decode()


def converse(page, answer_book: dict[str, str], expected: dict[str, str | int] | None = None, *,
             max_turns: int = 30, turn_timeout_ms: float = 90_000) -> list[str]:
    """Answer the agent in the widget on `page` until the call ends; returns what the caller said.

    Call after the widget is connected (the page must have loaded REACTIVE_MIC_SCRIPT as an init script).
    Each wait is on the widget's own state: its count of finished agent turns and its call state.
    """
    spoken: list[str] = []
    seen = 0
    for _ in range(max_turns):
        page.wait_for_function(AGENT_DONE_SPEAKING, arg=[WIDGET, seen], timeout=turn_timeout_ms)
        if page.get_attribute(WIDGET, "data-state") != "connected":
            return spoken
        seen = int(page.get_attribute(WIDGET, "data-agent-turns") or 0)
        answer = reactive_answer(page.evaluate(AGENT_ATTRIBUTES, WIDGET), answer_book, expected)
        if answer is None:  # the goodbye: nothing to say, the call ends
            page.wait_for_function("(w) => document.querySelector(w).dataset.state !== 'connected'",
                                   arg=WIDGET, timeout=turn_timeout_ms)
            return spoken
        page.evaluate("(clip) => window.__callerMic.say(clip)", wav_base64(answer))
        spoken.append(answer)
    raise AssertionError(f"the call did not end within {max_turns} answers: {json.dumps(spoken)}")


def reactive_context(browser, **options):
    """A browser context whose pages get the answering microphone instead of the fake device's file."""
    context = browser.new_context(**options)
    context.add_init_script(REACTIVE_MIC_SCRIPT)
    return context
