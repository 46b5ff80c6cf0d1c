"""`bench --runs N`: the same bench N times, each in a fresh process, kept as JSON and summarised.

docs/benchmarks.md reports the median over five runs of one command, each run a process of its own
(its own allocations, kernel timings and spell of the machine's load); this runs them so, one
after another, writing each run's `--json` output to `<out>/run<i>.json` as it finishes, so a run
that fails or is interrupted leaves the earlier ones on disk. Ctrl-C or SIGTERM stops the run in
progress too (a measurement left running would load the machine for a minute or more).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable

from counterfeit.errors import UserError
from counterfeit.fileio import atomic_write_text


def run_files(out: Path, runs: int) -> list[Path]:
    """Where the runs' JSON goes; refused before any measuring if one of them exists already."""
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a folder")
    paths = [out / f"run{i}.json" for i in range(1, runs + 1)]
    taken = [path for path in paths if path.exists()]
    if taken:
        raise UserError(f"--out {out}: {taken[0].name} exists already; choose an empty folder")
    return paths


def repeat(bench_args: list[str], paths: list[Path],
           report: Callable[[str], None] = lambda line: print(line, file=sys.stderr)) -> list[Path]:
    """Runs `counterfeit bench <bench_args> --json` once per path, each in a new interpreter, and
    writes its output there. A failed run stops the rest, with its last error line."""
    paths[0].parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "counterfeit", "bench", *bench_args, "--json"]
    # SIGTERM as Ctrl-C: subprocess.run kills its child when an exception ends the wait
    on_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if on_main else None
    try:
        for i, path in enumerate(paths, 1):
            started = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode != 0:
                lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
                raise UserError(f"bench run {i} of {len(paths)} failed: {lines[-1]}")
            atomic_write_text(path, done.stdout)
            report(f"run {i}/{len(paths)}: {path} ({time.perf_counter() - started:.0f} s)")
    finally:
        if on_main:
            signal.signal(signal.SIGTERM, previous)
    return paths


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
