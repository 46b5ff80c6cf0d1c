"""Every kind of bad input: one stderr line naming the file or option, exit 2, nothing changed.

The CLI runs in-process (main() catches everything a user can cause, so a traceback would fail
the test); an existing run directory sits beside each case and must come out byte for byte equal.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pytest

from counterfeit.cli import main
from counterfeit.train import checkpoint as checkpoint_module
from counterfeit.train.checkpoint import list_checkpoints
from counterfeit.rundir import LOCK_FILE, run_lock


def idx(array: np.ndarray) -> bytes:
    dims = b"".join(size.to_bytes(4, "big") for size in array.shape)
    return bytes([0, 0, 8, array.ndim]) + dims + array.astype(np.uint8).tobytes()


IMAGES = np.zeros((40, 28, 28), np.uint8)


def write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def npz(path: Path, **arrays: np.ndarray) -> str:
    np.savez(path, **arrays)
    return str(path)


def labelled(d: Path, n_labels: int) -> str:
    write(d / "x-labels-idx1-ubyte", idx(np.zeros(n_labels, np.uint8)))
    return write(d / "x-images-idx3-ubyte", idx(IMAGES))


# Each case: (what goes after `counterfeit`, given a scratch dir and the existing run; a phrase
# the one line must contain). `{d}` in the phrase stands for the scratch dir.
def train_on(data: Callable[[Path], str]) -> Callable[[Path, Path], list[str]]:
    return lambda d, run: ["train", "--preset", "tiny", "--out", str(d / "new"), "--data", data(d)]


def train_with(*args: str) -> Callable[[Path, Path], list[str]]:
    return lambda d, run: ["train", "--preset", "tiny", "--out", str(d / "new"), *args]


def resume_with(*args: str) -> Callable[[Path, Path], list[str]]:
    return lambda d, run: ["train", "--resume", str(run), *args]


CASES = {
    "truncated IDX": (train_on(lambda d: write(d / "t-images", idx(IMAGES)[:-10])), "truncated"),
    "corrupt gzip IDX": (train_on(lambda d: write(d / "c.gz", gzip.compress(idx(IMAGES))[:-20])), "corrupt gzip"),
    "wrong magic": (train_on(lambda d: write(d / "m-images", b"\x08\x03\0\0" + idx(IMAGES)[4:])), "wrong magic"),
    "image/label count mismatch": (train_on(lambda d: labelled(d, 39)), "has 39 labels"),
    "npz without images": (train_on(lambda d: npz(d / "n.npz", pixels=IMAGES)), "no 'images' array"),
    "wrong dtype": (train_on(lambda d: npz(d / "i.npz", images=IMAGES.astype(np.int32))), "int32"),
    "wrong shape": (train_on(lambda d: npz(d / "s.npz", images=np.zeros((40, 27, 27), np.uint8))), "(40, 27, 27)"),
    "NaN pixels": (train_on(lambda d: npz(d / "nan.npz", images=np.full((40, 28, 28), np.nan))), "NaN"),
    "out-of-range pixels": (train_on(lambda d: npz(d / "r.npz", images=np.full((40, 28, 28), 1.5))),
                            "must lie in [0, 1]"),
    "folder with a non-image": (train_on(lambda d: str(d)), "notes.txt: not a PNG or JPEG file name"),
    "missing file": (train_on(lambda d: str(d / "nope.npz")), "no such file"),
    "unknown preset": (lambda d, run: ["train", "--preset", "nope", "--out", str(d / "new")], "--preset"),
    "invalid TOML": (lambda d, run: ["train", "--config", write(d / "bad.toml", b"steps = = 3"),
                                     "--out", str(d / "new")], "bad.toml: invalid TOML"),
    "unknown config key": (train_with("--set", "colour=red"), "unknown config key 'colour'"),
    "value of the wrong type": (train_with("--set", "steps=1.5"), "steps: expected an integer"),
    "zero steps": (train_with("--steps", "0"), "--steps: must be positive"),
    "negative steps": (train_with("--set", "steps=-5"), "steps must be positive"),
    "zero batch size": (train_with("--set", "batch_size=0"), "batch_size must be positive"),
    "negative batch size": (train_with("--set", "batch_size=-1"), "batch_size must be positive"),
    "unknown augmentation": (train_with("--set", "augment=translation,rotate"),
                             'augment must be "" (off) or a comma list of translation, cutout'),
    "--out a non-empty non-run": (lambda d, run: ["train", "--preset", "tiny", "--out", str(d)],
                                  "is not empty and is not a run"),
    "--out an existing run": (lambda d, run: ["train", "--preset", "tiny", "--out", str(run)], "is an existing run"),
    "--out under a file": (lambda d, run: ["train", "--preset", "tiny", "--out", str(d / "notes.txt" / "run")],
                           "notes.txt is not a directory"),
    "--out that cannot be made": (lambda d, run: ["train", "--preset", "tiny", "--steps", "1",
                                                  "--out", "/proc/counterfeit-x"],
                                  "--out /proc/counterfeit-x: cannot create the run directory"),
    "negative seed": (train_with("--seed", "-1"), "--seed: must be in [0, 3270964224), got -1"),
    "seed past numpy's range": (train_with("--seed", "4294967296"), "--seed: must be in [0, 3270964224)"),
    "seed past the range in --set": (train_with("--set", "seed=3270964224"), "seed must be in [0, 3270964224)"),
    "--resume with another config": (resume_with("--set", "lr_g=0.5"), "lr_g = 0.5"),
    "--resume with another seed": (resume_with("--seed", "7"), "seed = 7"),
    "--resume with another preset": (resume_with("--preset", "mlp2"), "preset = 'mlp2'"),
    "--resume with fewer steps": (resume_with("--steps", "10"), "steps = 10: "),
    "--resume with --out": (resume_with("--out", "elsewhere"), "--out elsewhere"),
    "--resume of a non-run": (lambda d, run: ["train", "--resume", str(d)], "not a run directory"),
}


def tree_hashes(root: Path) -> dict[str, str]:
    """Every file's sha256. The lock file is left out: it holds the pid of whoever locked last."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != LOCK_FILE}


@pytest.fixture
def existing_run(tiny_run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tiny_run, tmp_path / "existing"))


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    try:
        code = main(args)
    except SystemExit as exit:  # argparse's own checks (e.g. --steps 0) exit this way
        code = int(exit.code or 0)
    return code, capsys.readouterr().err


def error_lines(err: str) -> list[str]:
    """stderr without argparse's usage line (kept, and maybe wrapped, before its usage errors)."""
    lines = err.strip().splitlines()
    if lines and lines[0].startswith("usage: "):
        lines = [line for line in lines[1:] if not line.startswith(" ")]
    return lines


def check_one_line(code: int, err: str, phrase: str) -> None:
    assert code == 2, err
    assert len(error_lines(err)) == 1, err
    assert phrase in err, err


@pytest.mark.parametrize("case", CASES)
def test_bad_input(case: str, existing_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build, phrase = CASES[case]
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "notes.txt").write_text("mine")
    args = build(scratch, existing_run)
    before, scratch_before = tree_hashes(existing_run), tree_hashes(scratch)
    check_one_line(*run_cli(args, capsys), phrase)
    assert tree_hashes(existing_run) == before
    assert tree_hashes(scratch) == scratch_before  # no --out run dir or anything else appeared


def test_run_being_trained_by_another_process(existing_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with run_lock(existing_run):  # as a live training process holds it
        before = tree_hashes(existing_run)
        check_one_line(*run_cli(["train", "--resume", str(existing_run)], capsys),
                       "is being trained by another process")
        assert tree_hashes(existing_run) == before


def test_config_edited_after_the_checkpoint(existing_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = existing_run / "config.toml"
    config.write_text(config.read_text().replace("lr_g = 0.001", "lr_g = 0.002"))
    before = tree_hashes(existing_run)
    check_one_line(*run_cli(["train", "--resume", str(existing_run)], capsys),
                   "lr_g = 0.002 but checkpoint step_000050.safetensors was trained with 0.001")
    assert tree_hashes(existing_run) == before


def test_full_disk_during_a_checkpoint_write(existing_run: Path, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    real_open = checkpoint_module.atomic_open

    class FullDisk:
        def __init__(self, handle) -> None:  # type: ignore[no-untyped-def]
            self.handle = handle

        def write(self, data: bytes) -> None:
            self.handle.write(data[: len(data) // 3])
            raise OSError(errno.ENOSPC, "No space left on device")

    @contextmanager
    def full_disk_open(path: Path, mode: str = "wb") -> Iterator[FullDisk]:
        with real_open(path, mode) as handle:
            yield FullDisk(handle)

    monkeypatch.setattr(checkpoint_module, "atomic_open", full_disk_open)
    before = tree_hashes(existing_run)
    code, err = run_cli(["train", "--resume", str(existing_run), "--steps", "60", "--quiet"], capsys)
    check_one_line(code, err, "step_000060.safetensors: cannot write checkpoint (No space left on device)")
    assert "step_000050.safetensors is intact" in err
    after = tree_hashes(existing_run)
    checkpoints = [p.name for p in list_checkpoints(existing_run)]
    assert checkpoints == ["step_000020.safetensors", "step_000040.safetensors", "step_000050.safetensors"]
    for path, digest in before.items():  # metrics gained lines 51..60, config says 60 steps, the report the failure
        if path not in ("metrics.jsonl", "config.toml", "report.html"):
            assert after[path] == digest, path
    assert not list(existing_run.rglob("*.tmp"))
