"""Where prometheus-client's multiprocess files go: a folder of their own inside PROMETHEUS_MULTIPROC_DIR.

livekit-agents empties the PROMETHEUS_MULTIPROC_DIR it is given when a worker starts (every file in it), and the
worker clears metrics files of earlier runs too. So the worker moves the variable to a subfolder of its own before
anything opens a metrics file: whatever else lives in the folder an operator named — `data/` with the SQLite
database — is never touched. No prometheus import here: this must run before the first metric is made.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

OWN_FOLDER = "onboarding-worker-metrics"


def own_multiprocess_dir(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment change that points PROMETHEUS_MULTIPROC_DIR at its own subfolder (made if missing); none
    when it is unset. Job processes inherit the changed variable, and applying it again changes nothing."""
    base = environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not base:
        return {}
    own = Path(base) if Path(base).name == OWN_FOLDER else Path(base) / OWN_FOLDER
    own.mkdir(parents=True, exist_ok=True)
    return {"PROMETHEUS_MULTIPROC_DIR": str(own)}
