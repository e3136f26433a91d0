"""`python -m onboarding <command>`: operator commands (`doctor` for now; `make doctor` runs it)."""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m onboarding", description="Voice Onboarding Console tools")
    commands = parser.add_subparsers(dest="command", required=True)
    doctor = commands.add_parser("doctor", help="check settings, LiveKit, ports, agent, providers, models, database")
    doctor.add_argument("--json", action="store_true", help="print the checks as JSON")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # checking models must never fetch them
    if args.command == "doctor":
        from onboarding.ops.doctor import main as doctor_main

        return doctor_main(as_json=args.json)
    return 2


if __name__ == "__main__":
    sys.exit(main())
