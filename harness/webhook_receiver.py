"""A webhook receiver on a free local port, as a customer's endpoint would be: it checks each request's signature
the Stripe way (onboarding.webhooks.signing.verify), keeps what it got, and can be told to refuse the next requests
(503) so a test sees the dispatcher retry."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from onboarding.ops.processes import free_port
from onboarding.webhooks.signing import EVENT_ID_HEADER, SIGNATURE_HEADER, verify


@dataclass(frozen=True)
class Received:
    at: float
    event_id: str | None
    signature_valid: bool
    answered: int
    payload: dict[str, Any]


class WebhookReceiver:
    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.received: list[Received] = []
        self._refuse = 0
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self.port = free_port()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def refuse_next(self, count: int) -> None:
        with self._lock:
            self._refuse = count

    def wait_for(self, predicate, timeout: float = 30.0) -> list[Received]:
        """Until `predicate(received)` holds (each request wakes the wait); the requests so far."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self.received):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"webhook receiver: condition not met in {timeout:g} s; got "
                                       f"{[(r.event_id, r.answered) for r in self.received]}")
                self._changed.wait(left)
            return list(self.received)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                valid = verify(receiver.secret, self.headers.get(SIGNATURE_HEADER, ""), body)
                with receiver._changed:
                    refused = receiver._refuse > 0
                    receiver._refuse -= 1 if refused else 0
                    status = 503 if refused else (200 if valid else 400)
                    try:
                        payload = json.loads(body)
                    except ValueError:
                        payload = {}
                    receiver.received.append(Received(time.time(), self.headers.get(EVENT_ID_HEADER), valid,
                                                      status, payload))
                    receiver._changed.notify_all()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"refused for the test\n" if refused else b"ok\n")

            def log_message(self, *args: Any) -> None:
                return

        return Handler
