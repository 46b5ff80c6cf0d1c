from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from counterfeit.provenance import package_commit, provenance


def git(cwd: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main", *args]
    return subprocess.run(command, cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A repository holding a package directory with a tracked __init__.py, and an ignored .venv."""
    git(tmp_path, "init", "-q")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / ".gitignore").write_text(".venv/\n")
    (tmp_path / ".venv" / "pkg").mkdir(parents=True)
    (tmp_path / ".venv" / "pkg" / "__init__.py").write_text("")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "first")
    return tmp_path


def test_a_checkout_gives_its_head(checkout: Path) -> None:
    assert package_commit(checkout / "pkg") == git(checkout, "rev-parse", "HEAD")


def test_an_untracked_copy_inside_a_repository_gives_none(checkout: Path) -> None:
    assert package_commit(checkout / ".venv" / "pkg") is None  # a wheel installed into a project's .venv


def test_no_repository_or_no_git_gives_none(checkout: Path, tmp_path_factory: pytest.TempPathFactory,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    loose = tmp_path_factory.mktemp("loose")
    (loose / "__init__.py").write_text("")
    assert package_commit(loose) is None
    monkeypatch.setenv("PATH", "")
    assert package_commit(checkout / "pkg") is None


def test_provenance_records_the_command_line() -> None:
    record = provenance()
    assert record["command"] == sys.argv
    assert record.get("commit") == package_commit()
