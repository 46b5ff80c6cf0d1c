"""Which evaluator judges which data: one per dataset, kept in the cache folder under the
dataset's fingerprint (evaluators/FINGERPRINT/evaluator.safetensors + evaluator.json), written by
`counterfeit evaluator train --data ...`.

An evaluator stored for the data's exact fingerprint is used first. MNIST digits (the embedded
ones, the full 60k MNIST by name, or its published files by path) otherwise use the shipped
evaluator: the same digits, more of them. Anything else has none until one is trained, and is
never judged by a network trained on other data.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from counterfeit.data.dataset import Dataset
from counterfeit.data.labels import LABEL_SOURCES
from counterfeit.data.loading import INVERTED
from counterfeit.data.named import KNOWN
from counterfeit.data.stacked import STACKED
from counterfeit.errors import UserError
from counterfeit.home import cache_dir
from counterfeit.metrics.evaluator import RECORD_FILE, WEIGHTS_FILE, Evaluator, load_evaluator, load_weights, read_record

EVALUATORS_DIR = "evaluators"


def store_dir(dataset: Dataset) -> Path:
    return cache_dir() / EVALUATORS_DIR / dataset.fingerprint


def data_label(dataset: Dataset) -> str:
    """How metric names show the data: "Fashion-MNIST", or an image folder's or file's name."""
    if dataset.name in KNOWN:
        return KNOWN[dataset.name].title
    inverted = dataset.source.endswith(INVERTED)
    stem = Path(dataset.source.removesuffix(INVERTED)).name.split(".")[0] or dataset.source
    return f"{stem} inverted" if inverted else stem


def train_command(data: str | None, invert: bool = False, skip_bad: bool = False) -> str:
    """The command that builds the evaluator for `data` (as the user gave it)."""
    words = ["counterfeit", "evaluator", "train", "--data", data or "embedded"]
    return shlex.join(words + ["--invert"] * invert + ["--skip-bad"] * skip_bad)


def load_stored(directory: Path, dataset: Dataset) -> Evaluator:
    """The evaluator in `directory`, after checking it was trained on `dataset` (by fingerprint)
    and that its weights are the ones its record names (by sha256)."""
    record_path = directory / RECORD_FILE
    record = read_record(record_path)
    trained_on = record.get("data_fingerprint")
    if trained_on != dataset.fingerprint:
        raise UserError(f"{record_path}: this evaluator was trained on data with fingerprint {trained_on}, "
                        f"not {dataset.fingerprint} ({dataset.source}); retrain it with `counterfeit evaluator "
                        "train --data ...`")
    if not isinstance(record.get("sha256"), str):
        raise UserError(f"{record_path}: no sha256 of the weights in the evaluator record")
    return load_weights(directory / WEIGHTS_FILE, record["sha256"], f"not the one {record_path} describes",
                        str(record.get("name") or data_label(dataset)), record)


def find_evaluator(dataset: Dataset) -> Evaluator | None:
    """The evaluator that matches `dataset`, or None when there is none yet."""
    directory = store_dir(dataset)
    if (directory / RECORD_FILE).exists() or (directory / WEIGHTS_FILE).exists():
        return load_stored(directory, dataset)
    if dataset.name in ("mnist", STACKED):  # stacked-mnist: the MNIST evaluator reads each channel
        return load_evaluator()
    return None


def require_evaluator(dataset: Dataset, command: str) -> Evaluator:
    """As find_evaluator, but no evaluator is a one-line error naming `command`, which builds it."""
    evaluator = find_evaluator(dataset)
    if evaluator is None and dataset.labels is None:
        raise UserError(f"{dataset.source}: no evaluator has been trained on this data, and it has no labels "
                        f"to train one (use {LABEL_SOURCES}); metrics need an evaluator of the same data")
    if evaluator is None:
        raise UserError(f"{dataset.source}: no evaluator has been trained on this data (fingerprint "
                        f"{dataset.fingerprint}), and one trained on other data would judge it wrongly; "
                        f"build it with `{command}`")
    return evaluator
