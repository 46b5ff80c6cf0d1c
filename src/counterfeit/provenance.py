"""Where a run came from: its command line, and the git commit of the package's source when the
package runs from a checkout (an editable install); recorded in config.toml's [run] table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parent
GIT_TIMEOUT_S = 2.0  # a hung git (a network file system) must not hold up a run


def provenance() -> dict[str, Any]:
    """`command` (sys.argv as a list) and, from a checkout, `commit`. TOML has no null, so an
    unknown commit is left out."""
    commit = package_commit()
    return {"command": list(sys.argv), **({"commit": commit} if commit else {})}


def package_commit(source: Path = PACKAGE_DIR) -> str | None:
    """HEAD of the repository whose tracked files hold `source`; None when git is missing, slow
    or fails, or when `source` is not tracked (a wheel installed into a virtualenv that happens
    to sit inside some other repository would otherwise report that repository's commit)."""
    tracked = _git(source, "ls-files", "--error-unmatch", "--", "__init__.py")
    return _git(source, "rev-parse", "--verify", "HEAD") if tracked is not None else None


def _git(cwd: Path, *args: str) -> str | None:
    try:
        result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=GIT_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 else None
