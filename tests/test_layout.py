"""The house's walls: product apart from harness, pages apart from storage, and a map that matches the tree."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

from onboarding.settings import REPO_ROOT

PRODUCT = ["agent_worker.py", "dashboard.py", "models.py", "onboarding", "pages"]
MAP = REPO_ROOT / "docs" / "architecture.md"


def modules(*places: str) -> list[Path]:
    found: list[Path] = []
    for place in places:
        path = REPO_ROOT / place
        found += [path] if path.is_file() else sorted(path.rglob("*.py"))
    return found


def imported(path: Path) -> set[str]:
    """Every module name a file imports, at any depth (lazy imports inside functions count too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def offenders(places: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    return [f"{path.relative_to(REPO_ROOT)} imports {name}" for path in places for name in sorted(imported(path))
            if name.split(".")[0] in forbidden or name in forbidden]


def test_the_product_never_imports_the_harness_or_the_tests() -> None:
    assert offenders(modules(*PRODUCT), ("harness", "tests", "bench")) == []


def test_the_harness_never_imports_pytest() -> None:
    assert offenders(modules("harness"), ("pytest", "tests")) == []


def test_pages_never_talk_to_livekit_or_the_database() -> None:
    storage = ("livekit", "sqlmodel", "sqlalchemy", "models", "onboarding.db")
    assert offenders(modules("pages"), storage) == []


def test_providers_never_touch_storage() -> None:
    assert offenders(modules("onboarding/providers"), ("sqlmodel", "sqlalchemy", "models", "onboarding.db")) == []


def test_every_admin_page_has_its_data_module_of_the_same_name() -> None:
    shells = {"__init__", "admin", "talk"}  # the tab container and the public talk page hold no data
    pages = {p.stem for p in (REPO_ROOT / "pages").glob("*.py")} - shells
    data = {p.stem for p in (REPO_ROOT / "onboarding" / "admin").glob("*.py")} - {"__init__"}
    assert pages <= data, f"pages without onboarding/admin/<name>.py: {sorted(pages - data)}"


def tracked_folders() -> set[str]:
    files = subprocess.run(["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout
    top = {line.split("/")[0] + "/" for line in files.splitlines() if "/" in line and not line.startswith(".")}
    inner = {"/".join(line.split("/")[:2]) + "/" for line in files.splitlines()
             if line.startswith("onboarding/") and line.count("/") >= 2}
    return top | inner


def test_the_map_lists_every_folder_and_no_other() -> None:
    text = MAP.read_text()
    folders = text[text.index("## Folders"):text.index("## To add")]
    listed = set(re.findall(r"^- `([\w./-]+/)`", folders, re.M))
    assert listed == tracked_folders()
    assert "docs/architecture.md" in (REPO_ROOT / "README.md").read_text()


def test_the_front_door_lists_its_commands() -> None:
    out = subprocess.run([sys.executable, "-m", "onboarding", "--help"], cwd=REPO_ROOT, capture_output=True,
                         text=True, check=True).stdout
    for command in ("doctor", "db", "run", "livekit-server", "worker", "dashboard"):
        assert re.search(rf"^\s+{re.escape(command)}\b", out, re.M), (command, out)
