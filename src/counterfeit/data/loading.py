"""One entry point from a user's data argument to a Dataset."""

from __future__ import annotations

import os
import zipfile
from dataclasses import replace
from pathlib import Path

from counterfeit.data.dataset import Dataset
from counterfeit.data.embedded import load_embedded
from counterfeit.data.folder import read_image_folder
from counterfeit.data.idx import read_idx_dataset
from counterfeit.data.named import KNOWN, identify, load_named
from counterfeit.data.npz import read_npz
from counterfeit.data.stacked import STACKED, STACKED_SIZE, stacked_mnist
from counterfeit.errors import ConfigError
from counterfeit.seeds import Stream, stream_seed

EMBEDDED = "embedded"
INVERTED = ", inverted"  # appended to the source of inverted data


def absolute_data(data: str | os.PathLike[str]) -> str:
    """A data argument as a run records it: "embedded" and dataset names as they are, a path made
    absolute, so that `eval` and `--resume` find the file or folder from any directory."""
    return data if data in (EMBEDDED, STACKED) or data in KNOWN else os.path.abspath(data)


def load_dataset(data: str | os.PathLike[str] | None, invert: bool = False, skip_bad: bool = False,
                 seed: int = 0, stacked_size: int = STACKED_SIZE) -> Dataset:
    """None or "embedded": the embedded MNIST; "stacked-mnist": `stacked_size` 3-channel images of
    three embedded digits, drawn from the run `seed`'s STACKED stream; a known name ("mnist", "fashion-mnist",
    "kmnist"): its cached or system-wide copy; a folder: its PNG/JPEG images (`skip_bad`: without
    the files that are not); an .npz (by name or content); else an IDX file. `invert`: 255 - pixels,
    for dark-on-light images (then the data is no longer the known dataset it came from)."""
    if data == STACKED:
        if invert:  # its judge is the MNIST evaluator, which reads light digits on black
            raise ConfigError(f"invert: {STACKED} is light digits on black already; it cannot be inverted")
        return stacked_mnist(stream_seed(seed, Stream.STACKED), stacked_size)
    dataset = _load(data, skip_bad)
    if not invert:
        return dataset
    return replace(dataset, images=255 - dataset.images, source=dataset.source + INVERTED, name=None)


def _load(data: str | os.PathLike[str] | None, skip_bad: bool) -> Dataset:
    if data is None or data == EMBEDDED:
        return load_embedded()
    if isinstance(data, str) and data in KNOWN:
        return load_named(data)
    path = Path(data)
    if path.is_dir():
        return read_image_folder(path, skip_bad)
    # is_zipfile swallows OSErrors; the reader called next reports missing or unreadable files.
    if path.suffix.lower() == ".npz" or zipfile.is_zipfile(path):
        return read_npz(path)
    dataset = read_idx_dataset(path)
    spec = identify(path)  # a published MNIST-like file given by its path is that dataset
    return dataset if spec is None else replace(dataset, name=spec.name, classes=spec.classes)
