"""End-to-end accuracy: callers made of HELD-OUT answers phone the real worker over real WebRTC and the profile
stored at the END of each call is compared with what they said.

    python -m bench.accuracy_bench                    # 2 callers per voice, voices piper,slt,awb,rms, voice only
    python -m bench.accuracy_bench --callers 1 --voices slt          # a smoke run
    python -m bench.accuracy_bench --typing           # callers may also type a field in (RPC, as the widget does)
    python -m bench.accuracy_bench --text --callers 21   # no audio: the same callers, a perfect ear (seconds)
    python -m bench.accuracy_bench --callers 4 --corpus heldout-3   # the four whole callers written last (≈ 55 min)

Each caller (`harness.personas.ListeningCaller`) hears only what the agent says — its words on `lk.transcription`,
never the `onboarding.*` attributes (only with `--typing` does it read the fields the widget shows) — answers
the question it recognises with a held-out phrasing, says yes to a
read-back of its own value and no to anything else ("no, one word" when the read-back says the spacing wrong),
spells the misheard part when asked, says a job title or goal asked again after a no in its words alone
("Office manager."), and with `--typing`
types a field the agent got wrong twice or gave up on, or that the widget shows wrong (the fields it displays).
Calls run one after another (one worker, local providers:
Whisper tiny.en, Piper joe as the agent's voice, the scripted interviewer). Reported per caller voice: fields right
at the end (stored value == expected, exactly), calls completed, caller turns and seconds per onboarding, extra
turns per field (turns beyond one answer per field), the most turns spent on one question, and every miss.
Writes docs/accuracy-e2e.md (docs/accuracy-e2e-typing.md with --typing).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import machine
from harness.personas import HELDOUT_PATH, ListeningCaller, Typed, asked_field, heldout_personas
from harness.simcaller import CallResult, CallScript, SimCaller
from harness.testbed import settled_call, stack_settings, start_livekit, start_worker
from onboarding.call_records import CallRecord
from onboarding.interview import InterviewState, load_definition
from onboarding.settings import REPO_ROOT, Settings

VOICES = ("piper", "slt", "awb", "rms")
TARGET = 95.0
HELD_OUT_CALLERS = {"heldout": HELDOUT_PATH, "heldout-3": HELDOUT_PATH.with_name("heldout-3.toml"),
                    "heldout-4": HELDOUT_PATH.with_name("heldout-4.toml"),
                    "heldout-5": HELDOUT_PATH.with_name("heldout-5.toml"),
                    "heldout-6": HELDOUT_PATH.with_name("heldout-6.toml"),
                    "heldout-7": HELDOUT_PATH.with_name("heldout-7.toml"),
                    "heldout-8": HELDOUT_PATH.with_name("heldout-8.toml"),
                    "heldout-9": HELDOUT_PATH.with_name("heldout-9.toml"),
                    "heldout-10": HELDOUT_PATH.with_name("heldout-10.toml"),
                    "heldout-11": HELDOUT_PATH.with_name("heldout-11.toml"),
                    "heldout-12": HELDOUT_PATH.with_name("heldout-12.toml"),
                    "heldout-13": HELDOUT_PATH.with_name("heldout-13.toml"),
                    "heldout-14": HELDOUT_PATH.with_name("heldout-14.toml"),
                    "heldout-15": HELDOUT_PATH.with_name("heldout-15.toml"),
                    "heldout-16": HELDOUT_PATH.with_name("heldout-16.toml"),
                    "heldout-17": HELDOUT_PATH.with_name("heldout-17.toml"),
                    "heldout-18": HELDOUT_PATH.with_name("heldout-18.toml"),
                    "heldout-19": HELDOUT_PATH.with_name("heldout-19.toml"),
                    "heldout-20": HELDOUT_PATH.with_name("heldout-20.toml"),
                    "heldout-21": HELDOUT_PATH.with_name("heldout-21.toml"),
                    "heldout-22": HELDOUT_PATH.with_name("heldout-22.toml"),
                    "heldout-23": HELDOUT_PATH.with_name("heldout-23.toml"),
                    "heldout-24": HELDOUT_PATH.with_name("heldout-24.toml"),
                    "heldout-25": HELDOUT_PATH.with_name("heldout-25.toml"),
                    "heldout-26": HELDOUT_PATH.with_name("heldout-26.toml"),
                    "heldout-27": HELDOUT_PATH.with_name("heldout-27.toml"),
                    "heldout-28": HELDOUT_PATH.with_name("heldout-28.toml"),
                    "heldout-29": HELDOUT_PATH.with_name("heldout-29.toml"),
                    "heldout-30": HELDOUT_PATH.with_name("heldout-30.toml"),
                    "heldout-31": HELDOUT_PATH.with_name("heldout-31.toml"),
                    "heldout-32": HELDOUT_PATH.with_name("heldout-32.toml"),
                    "heldout-33": HELDOUT_PATH.with_name("heldout-33.toml"),
                    "heldout-34": HELDOUT_PATH.with_name("heldout-34.toml"),
                    "heldout-35": HELDOUT_PATH.with_name("heldout-35.toml"),
                    "heldout-36": HELDOUT_PATH.with_name("heldout-36.toml"),
                    "heldout-37": HELDOUT_PATH.with_name("heldout-37.toml"),
                    "heldout-38": HELDOUT_PATH.with_name("heldout-38.toml"),
                    "heldout-39": HELDOUT_PATH.with_name("heldout-39.toml"),
                    "heldout-40": HELDOUT_PATH.with_name("heldout-40.toml"),
                    "heldout-41": HELDOUT_PATH.with_name("heldout-41.toml"),
                    "heldout-42": HELDOUT_PATH.with_name("heldout-42.toml")}


@dataclass
class Call:
    voice: str
    caller: ListeningCaller
    result: CallResult | None
    record: CallRecord | None
    error: str = ""
    right: dict[str, bool] = field(default_factory=dict)

    @property
    def turns(self) -> int:
        return len(self.record.user_turns) if self.record else 0

    def most_on_one_question(self) -> int:
        """How many caller turns answered the same question, at most (a call stuck on one question shows here)."""
        if self.record is None:
            return 0
        counts: dict[str, int] = {}
        asked = ""
        for turn in self.record.turns:
            if turn.role == "agent":
                asked = _question_of(turn.text)
            elif asked:
                counts[asked] = counts.get(asked, 0) + 1
        return max(counts.values(), default=0)


    def exchanges(self, name: str) -> list[tuple[str, str]]:
        """(what the agent said, what the STT heard next) for every caller turn that answered field `name`: where a
        miss came from (mishearing, normalising or the read-back)."""
        pairs: list[tuple[str, str]] = []
        if self.record is None:
            return pairs
        asked, said = None, ""
        for turn in self.record.turns:
            if turn.role == "agent":  # the worker tags each reply with the field it asks (or reads back)
                asked, said = turn.asked_field, turn.text
            elif asked == name:
                pairs.append((said, turn.text))
        return pairs


def _question_of(text: str) -> str:
    return asked_field(text.lower(), load_definition()) or ""


async def one_call(settings: Settings, voice: str, caller: ListeningCaller) -> Call:
    script = CallScript(listener=caller, voice=voice, timeout=420, max_turns=60)
    try:
        result = await SimCaller(settings, script).run()
        record = await settled_call(settings, result.room_name, timeout=60)
    except (TimeoutError, AssertionError, RuntimeError) as exc:
        return Call(voice, caller, None, None, f"{type(exc).__name__}: {exc}")
    stored = record.profile.answers or {}
    right = {name: stored.get(name) == value for name, value in caller.expected.items()}
    return Call(voice, caller, result, record, right=right)


def table(calls: list[Call], voices: list[str], fields: int) -> str:
    head = ("| caller voice | fields right at the end | calls completed | caller turns per onboarding | "
            "extra turns per field | seconds per onboarding | most turns on one question |\n"
            "|---|---|---|---|---|---|---|")
    rows = []
    for voice in [*voices, None]:
        mine = [c for c in calls if voice is None or c.voice == voice]
        if not mine:
            continue
        right = sum(sum(c.right.values()) for c in mine)
        total = sum(len(c.caller.expected) for c in mine)
        done = sum(1 for c in mine if c.record and c.record.call.status == "completed")
        turns = [c.turns for c in mine if c.record]
        seconds = [c.result.seconds for c in mine if c.result]
        extra = sum(t - fields for t in turns) / max(1, len(turns)) / fields
        label = f"`{voice}`" if voice else "**all**"
        stuck = max((c.most_on_one_question() for c in mine), default=0)
        rows.append(f"| {label} | {right}/{total} · {100 * right / max(1, total):.1f} % | {done}/{len(mine)} | "
                    f"{sum(turns) / max(1, len(turns)):.1f} | {extra:.2f} | "
                    f"{sum(seconds) / max(1, len(seconds)):.0f} | {stuck} |")
    return "\n".join([head, *rows])


def misses(calls: list[Call]) -> str:
    lines = []
    for c in calls:
        if c.error:
            lines.append(f"[{c.voice}] call failed: {c.error}")
            continue
        stored = c.record.profile.answers or {}
        for name, ok in c.right.items():
            if not ok:
                flagged = " (flagged for staff)" if name in (c.record.profile.flagged or []) else ""
                lines.append(f"[{c.voice}] {name}: said {c.caller.answers[name]!r} → stored {stored.get(name)!r}"
                             f"{flagged}, expected {c.caller.expected[name]!r}")
                lines += [f"    agent: {asked!r} → heard {heard!r}" for asked, heard in c.exchanges(name)]
    return "\n".join(lines) or "none"


async def run(settings: Settings, voices: list[str], callers: int, typing: bool, first: int = 0,
              corpus: Path = HELDOUT_PATH) -> list[Call]:
    calls = []
    for voice in voices:
        for caller in heldout_personas(first + callers, corpus)[first:]:
            caller.may_type = typing
            calls.append(await one_call(settings, voice, caller))
            print(f"{voice}: {sum(calls[-1].right.values())}/{len(caller.expected)} right "
                  f"({calls[-1].error or calls[-1].record.call.status})", file=sys.stderr, flush=True)
    return calls


def text_calls(callers: int, typing: bool, corpus: Path = HELDOUT_PATH) -> str:
    """The conversation alone: each caller's words go straight to the interview (no TTS, no STT, no WebRTC)."""
    right = total = turns = done = 0
    lines = []
    for caller in heldout_personas(callers, corpus):
        caller.may_type = typing
        state = InterviewState(load_definition())
        reply, count = state.opening(), 0
        while not reply.done and count < 60:
            answer = caller.reply(reply.text, dict(state.values) if typing else None)
            if answer is None:
                break
            count += 1
            reply = (state.typed(answer.field, answer.value, -1) if isinstance(answer, Typed)
                     else state.handle(answer, count))
        ok = {name: state.values.get(name) == value for name, value in caller.expected.items()}
        right, total, turns = right + sum(ok.values()), total + len(ok), turns + count
        done += state.outcome().status == "completed"
        lines += [f"{name}: said {caller.answers[name]!r} → stored {state.values.get(name)!r}, expected "
                  f"{caller.expected[name]!r}" for name, good in ok.items() if not good]
    return (f"text only: {right}/{total} fields right at the end ({100 * right / max(1, total):.1f} %), "
            f"{done}/{callers} completed, {turns / max(1, callers):.1f} caller turns per onboarding\n"
            + "\n".join(lines))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.accuracy_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--voices", default=",".join(VOICES), help="caller voices: piper and/or flite voices")
    parser.add_argument("--callers", type=int, default=2, help="callers per voice (default: %(default)s)")
    parser.add_argument("--typing", action="store_true", help="callers may type a field (RPC, as in the widget)")
    parser.add_argument("--text", action="store_true", help="no audio: the callers' words go straight to the interview")
    parser.add_argument("--first", type=int, default=0,
                        help="start at this held-out caller (a caller no earlier run has heard)")
    parser.add_argument("--corpus", choices=sorted(HELD_OUT_CALLERS), default="heldout",
                        help="held-out answers (heldout-3 … heldout-42: whole callers, each written before its run)")
    parser.add_argument("--out", type=Path, help="report file (default: docs/accuracy-e2e[-typing][-CORPUS].md)")
    args = parser.parse_args(argv)
    if args.text:
        print(text_calls(args.callers, args.typing, HELD_OUT_CALLERS[args.corpus]))
        return 0
    voices = [v.strip() for v in args.voices.split(",") if v.strip()]
    logs = Path(tempfile.mkdtemp(prefix="accuracy-bench-"))
    started = time.monotonic()
    lk, base = start_livekit(Settings(_env_file=None), logs / "livekit-server.log")
    settings = stack_settings(base, f"sqlite:///{logs / 'bench.db'}", "onboarding-accuracy-bench")
    worker = start_worker(settings, logs / "agent-worker.log", TTS_ENGINE="piper")
    try:
        calls = asyncio.run(run(settings, voices, args.callers, args.typing, args.first,
                                HELD_OUT_CALLERS[args.corpus]))
    finally:
        worker.stop()
        lk.stop()
    minutes = (time.monotonic() - started) / 60
    fields = len(load_definition().fields)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    mode = "callers may type a field (RPC)" if args.typing else "voice only"
    command = " ".join(["python -m bench.accuracy_bench", *argv])
    report = (f"# End-to-end accuracy ({mode})\n\nRun {stamp} on: {machine()}. Command: `{command}`; "
              f"{minutes:.1f} min in all.\n\n{__doc__.split(chr(10) + chr(10), 2)[2]}\n"
              f"{table(calls, voices, fields)}\n\nAim: ≥ {TARGET:.0f} % of fields right at the end voice only, 100 % "
              f"when the caller may type; ≤ 1 extra turn per field; no call stuck on one question.\n\n"
              f"## Every miss\n\n```\n{misses(calls)}\n```\n")
    name = "accuracy-e2e" + ("-typing" if args.typing else "") + ("" if args.corpus == "heldout" else f"-{args.corpus}")
    out = args.out or REPO_ROOT / "docs" / f"{name}.md"  # each held-out set keeps its own report
    out.write_text(report, encoding="utf-8")
    print(report)
    print(f"written to {out}; logs in {logs}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
