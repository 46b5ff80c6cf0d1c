"""TensorBoard event files of a run (`tensorboard = true`, the `tensorboard` extra), written with
torch.utils.tensorboard into RUN_DIR/tensorboard/: the losses, D outputs and every in-training
metric (and its real floor) as scalars, each sample grid as an image, collapse warnings and the
resolved config as text.

Like report.html, the events are a view of the run directory: each sync writes what metrics.jsonl
and samples/ gained since the last. A resumed run's directory has just been put back to its
checkpoint (train/resume.py), and the event files are rewritten from it, so the stretch a killed
run logged after its last checkpoint leaves no points behind and the resumed run continues the
same curves, each step once.
"""

from __future__ import annotations

import datetime
import importlib.util
import json
import shutil
import time
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from counterfeit.errors import ConfigError
from counterfeit.rundir import CONFIG_FILE, METRICS_FILE, SAMPLES_DIR, TENSORBOARD_DIR

SCALARS = {"d_loss": "loss/D", "g_loss": "loss/G", "d_real": "D_output/D(x)", "d_fake": "D_output/D(G(z))"}
NOT_SCALARS = ("step", "eval_n", "images_seen", "epoch", "seconds")


def require_tensorboard() -> None:
    """Before any work: a run that asks for events and cannot write them is a one-line error."""
    if importlib.util.find_spec("tensorboard") is None:
        raise ConfigError("tensorboard = true: the tensorboard package is not installed "
                          "(pip install 'counterfeit[tensorboard]')")


class TensorBoardLog:
    def __init__(self, run_path: Path) -> None:
        from torch.utils.tensorboard import SummaryWriter  # imported only when asked for (~1 s)

        self.run_path = run_path
        folder = run_path / TENSORBOARD_DIR
        shutil.rmtree(folder, ignore_errors=True)  # rewritten from the run's own records (see above)
        self.writer = SummaryWriter(str(folder))
        self.start = _started(run_path)
        self.walltime = self.start
        self.offset = 0  # bytes of metrics.jsonl already written as events
        self.grids: set[int] = set()  # steps of the sample grids already written
        config = (run_path / CONFIG_FILE).read_text("utf-8")
        self.writer.add_text("config", "".join(f"    {line}\n" for line in config.splitlines()), 0, self.start)

    def sync(self) -> None:
        """Write the records and grids the run gained since the last sync."""
        for record in self._new_records():
            self._record(record)
        for path in sorted((self.run_path / SAMPLES_DIR).glob("step_*.png")):
            step = int(path.stem.removeprefix("step_"))
            if step not in self.grids:
                with Image.open(path) as grid:
                    pixels = np.asarray(grid.convert("L"))
                self.writer.add_image("samples", pixels, step, self.walltime, dataformats="HW")
                self.grids.add(step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()

    def _new_records(self) -> list[dict[str, Any]]:
        """Whole lines past the offset: a line still being written waits for the next sync."""
        try:
            with open(self.run_path / METRICS_FILE, "rb") as handle:
                handle.seek(self.offset)
                text = handle.read()
        except FileNotFoundError:  # nothing logged yet
            return []
        complete = text[: text.rfind(b"\n") + 1]
        self.offset += len(complete)
        return [json.loads(line) for line in complete.decode("utf-8").splitlines() if line.strip()]

    def _record(self, record: dict[str, Any]) -> None:
        step = record["step"]
        if "seconds" in record:  # the run's clock: a replayed record keeps its time
            self.walltime = self.start + record["seconds"]
        if "collapse" in record:
            self.writer.add_text("collapse", f"{record['collapse']}: {record['message']}", step, self.walltime)
        if "failed" in record:
            self.writer.add_text("failed", record["failed"], step, self.walltime)
        group = "metrics" if "eval_n" in record else "train"
        for key, value in record.items():
            if key not in NOT_SCALARS and isinstance(value, (int, float)) and not isinstance(value, bool):
                self.writer.add_scalar(SCALARS.get(key, f"{group}/{key}"), value, step, self.walltime)
        for key, value in (record.get("floor") or {}).items():
            self.writer.add_scalar(f"real_floor/{key}", value, step, self.walltime)


def _started(run_path: Path) -> float:
    """The run's start time from config.toml's [run] table, so replayed points keep their times."""
    created = tomllib.loads((run_path / CONFIG_FILE).read_text("utf-8")).get("run", {}).get("created")
    try:
        return datetime.datetime.strptime(str(created), "%Y-%m-%dT%H:%M:%S%z").timestamp()
    except ValueError:
        return time.time()
