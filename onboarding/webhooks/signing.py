"""The signature receivers check, Stripe-style: `Onboarding-Signature: t=<unix seconds>,v1=<hex>` where the hex is
HMAC-SHA256 of `"<t>.<raw body>"` with WEBHOOK_SECRET. The timestamp is signed too, so a captured request cannot be
replayed later than the receiver's tolerance; `Onboarding-Event-Id` is the idempotency key."""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Onboarding-Signature"
EVENT_ID_HEADER = "Onboarding-Event-Id"
EVENT_TYPE_HEADER = "Onboarding-Event-Type"
TOLERANCE_SECONDS = 300


def signature(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return mac.hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    stamp = int(time.time()) if timestamp is None else timestamp
    return f"t={stamp},v1={signature(secret, body, stamp)}"


def verify(secret: str, header: str, body: bytes, *, now: float | None = None,
           tolerance: float = TOLERANCE_SECONDS) -> bool:
    """What a receiver does: the header parses, the timestamp is recent, and one v1 signature matches."""
    parts: dict[str, list[str]] = {}
    for item in (header or "").split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        stamp = int(parts["t"][0])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - stamp) > tolerance:
        return False
    expected = signature(secret, body, stamp)
    return any(hmac.compare_digest(expected, candidate) for candidate in parts.get("v1", []))
