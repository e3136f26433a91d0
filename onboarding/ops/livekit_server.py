"""The local LiveKit server: find or build livekit-server v1.13.5, and the command that starts it.

Order of preference: LIVEKIT_SERVER_BIN, a `livekit-server` on PATH, then our own Go build in the
git-ignored `.cache/bin`, made once with `go install` (the first build takes a few minutes).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from onboarding.settings import REPO_ROOT, Settings

LIVEKIT_SERVER_VERSION = "v1.13.5"
GO_PACKAGE = f"github.com/livekit/livekit-server/cmd/server@{LIVEKIT_SERVER_VERSION}"
CACHE_BIN = REPO_ROOT / ".cache" / "bin"
CACHED_BINARY = CACHE_BIN / f"livekit-server-{LIVEKIT_SERVER_VERSION}"
CONFIG_FILE = REPO_ROOT / "livekit.yaml"
GO_FALLBACK_DIRS = os.pathsep.join(["/usr/local/go/bin", str(Path.home() / "go" / "bin")])  # Go off PATH

NO_GO_MESSAGE = (
    "livekit-server is not installed and Go is not available to build it.\n"
    "Install it one of these ways, then run again:\n"
    "  - Go 1.26+:  go install " + GO_PACKAGE + "  (then set LIVEKIT_SERVER_BIN to the binary)\n"
    "  - LiveKit's install script:  curl -sSL https://get.livekit.io | bash\n"
    "  - Homebrew:  brew install livekit\n"
    "  - Docker:  docker run --rm -p 7880:7880 -p 7881:7881 -p 7882:7882/udp "
    "-v $PWD/livekit.yaml:/livekit.yaml livekit/livekit-server --config /livekit.yaml\n"
    "Or point LIVEKIT_URL at LiveKit Cloud or another server."
)


class ServerBinaryMissing(RuntimeError):
    pass


def find_binary(settings: Settings) -> Path | None:
    if settings.livekit_server_bin:
        path = Path(settings.livekit_server_bin)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise ServerBinaryMissing(f"LIVEKIT_SERVER_BIN={path} is not an executable file")
        return path
    on_path = shutil.which("livekit-server")
    if on_path:
        return Path(on_path)
    return CACHED_BINARY if CACHED_BINARY.is_file() else None


def build_binary() -> Path:
    """`go install` into a scratch GOBIN (progress shown), then move into the cache."""
    go = shutil.which("go") or shutil.which("go", path=GO_FALLBACK_DIRS)
    if not go:
        raise ServerBinaryMissing(NO_GO_MESSAGE)
    CACHE_BIN.mkdir(parents=True, exist_ok=True)
    print(f"Building livekit-server {LIVEKIT_SERVER_VERSION} with Go (first time only, a few minutes)…",
          file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(dir=CACHE_BIN) as gobin:
        env = {**os.environ, "GOBIN": gobin, "GOFLAGS": "-mod=mod", "GO111MODULE": "on"}
        result = subprocess.run([go, "install", "-v", GO_PACKAGE], env=env, cwd=gobin)
        if result.returncode != 0:
            raise ServerBinaryMissing(f"`go install {GO_PACKAGE}` failed (exit {result.returncode})\n{NO_GO_MESSAGE}")
        Path(gobin, "server").replace(CACHED_BINARY)
    return CACHED_BINARY


def ensure_binary(settings: Settings) -> Path:
    return find_binary(settings) or build_binary()


def config_body(settings: Settings, *, port: int, rtc_tcp_port: int, udp_port: int,
                redis_address: str | None = None) -> str:
    """livekit.yaml with loopback-only networking and our keys, for a local dev server.

    With `redis_address` (host:port) the server runs in distributed mode: nodes sharing that Redis
    share rooms, routing and agent workers, each node with its own ports.
    """
    config = yaml.safe_load(CONFIG_FILE.read_text())
    config["port"] = port
    config["bind_addresses"] = ["127.0.0.1"]
    config["rtc"] = {
        **config.get("rtc", {}), "tcp_port": rtc_tcp_port, "port_range_start": udp_port,
        "port_range_end": udp_port, "use_external_ip": False, "node_ip": "127.0.0.1",
    }
    config["keys"] = {settings.livekit_api_key: settings.livekit_api_secret}
    config["logging"] = {"level": "info"}
    if redis_address:
        config["redis"] = {"address": redis_address}
    return yaml.safe_dump(config)


def server_command(binary: Path, settings: Settings, *, port: int, rtc_tcp_port: int, udp_port: int,
                   redis_address: str | None = None) -> list[str]:
    body = config_body(settings, port=port, rtc_tcp_port=rtc_tcp_port, udp_port=udp_port,
                       redis_address=redis_address)
    return [str(binary), "--dev", "--bind", "127.0.0.1", "--node-ip", "127.0.0.1", "--config-body", body]


def main() -> None:
    """`python -m onboarding livekit-server`: build if needed and print the binary path."""
    from onboarding.settings import get_settings

    try:
        print(ensure_binary(get_settings()))
    except ServerBinaryMissing as exc:
        print(exc, file=sys.stderr)
        sys.exit(2)
