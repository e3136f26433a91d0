"""livekit's native library stops handing its debug and trace records to Python once told to (real livekit-server).

Each run is its own process (the FFI client is one per process): it counts the records that reach livekit-rtc's
Python callback while it joins a room, publishes a track and leaves.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from livekit import api

from onboarding.settings import Settings

ROOT = Path(__file__).resolve().parents[1]

JOIN_AND_COUNT = textwrap.dedent("""
    import asyncio, collections, json, sys
    from livekit import rtc
    from livekit.rtc import _ffi_client
    from onboarding.native_logs import keep_native_logs_native

    seen = collections.Counter()
    debug_and_trace = []
    to_level = _ffi_client.to_python_level
    def counting(level):  # called once for every record the native library forwards
        seen[int(level)] += 1
        if int(level) >= 3:  # DEBUG or TRACE: keep what it says (the record is the caller's loop variable)
            debug_and_trace.append(sys._getframe(1).f_locals["record"].message)
        return to_level(level)
    _ffi_client.to_python_level = counting

    async def main(url, token, keep_native):
        kept = keep_native_logs_native() if keep_native else False
        room = rtc.Room()
        await room.connect(url, token)
        source = rtc.AudioSource(16000, 1)
        track = rtc.LocalAudioTrack.create_audio_track("mic", source)
        await room.local_participant.publish_track(track, rtc.TrackPublishOptions())
        for _ in range(50):  # half a second of silence through the encoder
            await source.capture_frame(rtc.AudioFrame.create(16000, 1, 160))
        await room.disconnect()
        print(json.dumps({"kept": kept, "seen": seen, "debug_and_trace": debug_and_trace}))

    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3] == "native"))
""")


def join_and_count(settings: Settings, room: str, mode: str, env: dict[str, str] | None = None) -> dict:
    grants = api.VideoGrants(room_join=True, room=room, can_publish=True)
    token = (api.AccessToken(settings.livekit_api_key, settings.livekit_api_secret)
             .with_identity(f"native-logs-{mode}").with_grants(grants).to_jwt())
    done = subprocess.run([sys.executable, "-c", JOIN_AND_COUNT, settings.livekit_url, token, mode],
                          cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", **(env or {})})
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return {"kept": report["kept"], "seen": {int(level): n for level, n in report["seen"].items()},
            "debug_and_trace": report["debug_and_trace"]}


DEBUG, TRACE = 3, 4  # livekit.rtc's proto LogLevel
MADE_BEFORE_THE_SWITCH = "initializing ffi server"  # livekit-rtc's own first initialisation says so, at DEBUG


@pytest.mark.slow
def test_native_debug_and_trace_records_stop_reaching_python(livekit_server: Settings) -> None:
    forwarded = join_and_count(livekit_server, "native-logs-a", "forwarded")
    assert forwarded["kept"] is False
    assert forwarded["seen"].get(DEBUG, 0) + forwarded["seen"].get(TRACE, 0) > 20, forwarded  # the library's default

    assert [m for m in forwarded["debug_and_trace"] if not m.startswith(MADE_BEFORE_THE_SWITCH)]

    kept = join_and_count(livekit_server, "native-logs-b", "native")
    assert kept["kept"] is True
    # only what livekit-rtc's own initialisation logged, before the switch: nothing of the join, publish or leave
    assert [m for m in kept["debug_and_trace"] if not m.startswith(MADE_BEFORE_THE_SWITCH)] == [], kept


@pytest.mark.slow
def test_livekit_rtc_debug_keeps_forwarding(livekit_server: Settings) -> None:
    asked = join_and_count(livekit_server, "native-logs-c", "native", env={"LIVEKIT_RTC_DEBUG": "1"})
    assert asked["kept"] is False
    assert asked["seen"].get(DEBUG, 0) + asked["seen"].get(TRACE, 0) > 20, asked
