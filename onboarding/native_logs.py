"""livekit's native library logs on its own, instead of handing every record to Python to be dropped.

livekit-rtc 1.1.21 initialises its Rust library with `capture_logs=True` (fixed in `FfiClient.__init__`), and in
that mode livekit-ffi forwards every record it makes, TRACE and DEBUG included, each as its own FFI event: in a
call ≈ 110 a second (measured: 8,044 records in a 72 s call, 3 of them INFO or above). Each one takes the GIL, is
parsed from protobuf and then discarded by `ffi_event_callback` (it shows DEBUG only when LIVEKIT_RTC_DEBUG is set)
— about a tenth of a job process's Python time. Initialising the library again with `capture_logs=False` (the same
callback; livekit-ffi only records the flag) makes it log through its own env_logger, which formats a record only
when RUST_LOG lets it through: the worker sets RUST_LOG=warn unless the operator chose, so native warnings and
errors still reach stderr (as plain lines, not JSON) and nothing else is made.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)

NATIVE_LOG_LEVEL = "warn"  # RUST_LOG when unset: what the native library itself writes to stderr


def rtc_debug_requested() -> bool:
    """livekit-rtc's own switch for showing its native debug logs through Python logging."""
    return os.environ.get("LIVEKIT_RTC_DEBUG", "").strip().lower() in ("true", "1")


def keep_native_logs_native() -> bool:
    """Stop livekit's native library forwarding its log records to this process's Python (True if stopped).

    Call it in the process that runs calls, before or after it connects (the FFI client is made here if needed).
    """
    if rtc_debug_requested():
        return False
    from livekit.rtc import __version__ as rtc_version
    from livekit.rtc import _ffi_client

    client = _ffi_client.FfiClient.instance  # made now if not yet: its own init would turn capturing back on
    client._ffi_lib.livekit_ffi_initialize(_ffi_client.ffi_event_callback, False, b"python",
                                           rtc_version.encode("ascii"))
    log.debug("livekit native logs kept native", extra={"rust_log": os.environ.get("RUST_LOG")})
    return True
