"""Structured logs: one line per event with its room and session ids (JSON), never print.

No personal data in logs, at any level: our own log calls never pass what a caller said or a field's value, and
the fields libraries mark as personal (livekit-agents names them `lk.pii.<name>`: the user's transcript, tool
arguments, the chat context) are dropped here, so LOG_LEVEL=DEBUG is as safe to ship as INFO.
"""

from __future__ import annotations

import json
import logging
import sys

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def is_personal(key: str) -> bool:
    """A log field marked as personal data: a dot-delimited `pii` segment (livekit-agents' convention)."""
    return "pii" in key.split(".")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname,
                "logger": record.name, "msg": record.getMessage()}
        line.update({k: v for k, v in vars(record).items()
                     if k not in _STANDARD and not k.startswith("_") and not is_personal(k)})
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "faster_whisper", "urllib3"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
