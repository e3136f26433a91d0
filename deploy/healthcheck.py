"""Container health probe without curl in the image: exit 0 when GET http://127.0.0.1:<port><path> answers 2xx.

    python deploy/healthcheck.py WORKER_HTTP_PORT /         (the agent worker: 503 while LiveKit is unreachable)
    python deploy/healthcheck.py DASHBOARD_PORT /healthz    (the dashboard)

The port is read from the named environment variable, so the probe follows the setting the process was started with.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

DEFAULT_PORTS = {"WORKER_HTTP_PORT": "8081", "DASHBOARD_PORT": "8000"}  # Settings defaults


def probe(port_variable: str, path: str, timeout: float = 4.0) -> tuple[bool, str]:
    port = os.environ.get(port_variable) or DEFAULT_PORTS.get(port_variable, "")
    if not port.isdigit():
        return False, f"{port_variable}={port!r} is not a port number"
    url = f"http://127.0.0.1:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return 200 <= response.status < 300, f"{url} answered {response.status}"
    except urllib.error.HTTPError as err:
        return False, f"{url} answered {err.code}"
    except OSError as err:
        return False, f"{url} unreachable: {err}"


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: healthcheck.py PORT_VARIABLE PATH", file=sys.stderr)
        return 2
    healthy, detail = probe(argv[1], argv[2])
    print(detail)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
