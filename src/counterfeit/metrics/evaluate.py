"""Judge a set of images: every metric against the reference images, beside the real-data floor
(the same metrics for held-out real images), with the sample sizes that produced them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from counterfeit.data.dataset import Dataset
from counterfeit.data.loading import load_dataset
from counterfeit.data.npz import read_npz
from counterfeit.data.stacked import STACKED, stacked_mnist
from counterfeit.errors import DataError, UserError
from counterfeit.fileio import atomic_write_text
from counterfeit.metrics import cache
from counterfeit.metrics.conditional import DEFAULT_PER_CLASS, conditional_report, conditional_table
from counterfeit.metrics.evaluator import Evaluator
from counterfeit.metrics.evaluator_store import require_evaluator, train_command
from counterfeit.metrics.features import extract
from counterfeit.metrics.prdc import K_DENSITY_COVERAGE
from counterfeit.metrics.reference import Reference, build_reference, pixels_of, real_images
from counterfeit.metrics.registry import METRICS, MNIST_ALIASES, compute, keys_for
from counterfeit.rundir import EVAL_FILE
from counterfeit.sampling import generate, load_generator
from counterfeit.seeds import Stream, stream_seed

DEFAULT_N = 2000  # all the held-out digits the embedded set affords
STACKED_N = 26_000  # Stacked MNIST's samples in the literature (VEEGAN, PacGAN)
SKIPPED_FOR_STACKED = ("FID, KID, precision, recall and the other metrics are not computed for 3-channel "
                       "images: the evaluator reads one grey digit; the modes are this benchmark's measure")


def default_n(channels: int) -> int:
    return STACKED_N if channels > 1 else DEFAULT_N


@dataclass(frozen=True)
class RealData:
    reference: Reference | None  # None for stacked data: its modes are judged against uniform
    floor: dict[str, float]  # every metric of the held-out images against the reference
    source: str
    n_floor: int  # real images behind the floor
    floor_source: str = "held-out real images against the same reference"

    @property
    def n_reference(self) -> int:
        return 0 if self.reference is None else len(self.reference.train)


def real_data(dataset: Dataset, evaluator: Evaluator, n: int, seed: int = 0) -> RealData:
    """Reference statistics and floor for up to n reference and n held-out images, cached under
    (dataset fingerprint, evaluator sha256, n). Stacked data: the floor alone, from n real stacked
    images drawn fresh with the STACKED_FLOOR stream of the run's `seed`."""
    if dataset.channels > 1:
        return stacked_floor(dataset, evaluator, n, stream_seed(seed, Stream.STACKED_FLOOR))
    train_images, heldout_images = real_images(dataset, n)
    if len(heldout_images) < 2 * K_DENSITY_COVERAGE:
        raise DataError(f"{dataset.source}: {len(dataset)} images leave too few held out to compare with")
    path = cache.cache_path("real", dataset.fingerprint, evaluator.sha256, n)
    arrays = cache.load(path)
    floor = json.loads(str(arrays["floor"])) if arrays is not None and "floor" in arrays else {}
    if _complete(floor, dataset.channels):
        reference = Reference.from_arrays(arrays, pixels_of(train_images), pixels_of(heldout_images))
        return RealData(reference, floor, dataset.source, len(reference.heldout))
    reference = build_reference(train_images, heldout_images, evaluator)
    floor = compute(reference.heldout, reference)
    cache.store(path, {**reference.to_arrays(), "floor": np.array(json.dumps(floor))})
    return RealData(reference, floor, dataset.source, len(reference.heldout))


def stacked_floor(dataset: Dataset, evaluator: Evaluator, n: int, floor_seed: int) -> RealData:
    """The mode metrics of n fresh real stacked images (not the training images: a generator that
    copied them would match those exactly), cached under (evaluator sha256, n, seed)."""
    if dataset.name != STACKED:
        raise DataError(f"{dataset.source}: {dataset.channels}-channel data other than {STACKED} has no evaluator")
    path = cache.cache_path("stacked-floor", evaluator.sha256, n, floor_seed)
    arrays = cache.load(path)
    floor = json.loads(str(arrays["floor"])) if arrays is not None else {}
    if not _complete(floor, dataset.channels):
        floor = compute(extract(evaluator, stacked_mnist(floor_seed, n).images), None)
        cache.store(path, {"floor": np.array(json.dumps(floor))})
    return RealData(None, floor, dataset.source, n, f"fresh real stacked images (seed {floor_seed})")


def _complete(floor: dict[str, float], channels: int) -> bool:
    """Whether a cached floor has every metric of its kind: one cached before a metric was added
    is computed again (and stored over), so no table meets a metric without its floor."""
    return set(keys_for(channels)) <= set(floor)


@dataclass(frozen=True)
class Report:
    what: str
    n: int
    real: RealData
    evaluator: Evaluator  # the judge, trained on the same data as `real`
    metrics: dict[str, float] = field(default_factory=dict)
    conditional: dict[str, Any] | None = None  # a conditional run's per-digit scores

    def to_json(self) -> dict[str, Any]:
        extra = {} if self.conditional is None else {"conditional": self.conditional}
        return {"n": self.n, "n_reference": self.real.n_reference, "n_floor": self.real.n_floor,
                "floor_source": self.real.floor_source, "evaluated": self.what, "data": self.real.source,
                "evaluator_sha256": self.evaluator.sha256, "evaluator": self.evaluator.describe(),
                "metrics": self._with_aliases(self.metrics), "floor": self._with_aliases(self.real.floor), **extra}

    def _with_aliases(self, values: dict[str, float]) -> dict[str, float]:
        if not self.evaluator.is_mnist:
            return values
        return {**values, **{old: values[new] for old, new in MNIST_ALIASES.items() if new in values}}

    def table(self) -> str:
        data, classes = self.evaluator.label, self.evaluator.net.head.out_features
        rows = [("metric", "value", "real floor", "better")]
        for key, value in self.metrics.items():
            label, better = METRICS[key].label_for(data, classes)
            rows.append((label, _fmt(value), _fmt(self.real.floor[key]), better))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        if self.real.reference is None:
            lines = [f"{self.what}: {self.n} images, each channel read as a digit by the {data} evaluator "
                     f"(data: {self.real.source})"]
        else:
            lines = [f"{self.what}: {self.n} images against {self.real.n_reference} reference images "
                     f"of {self.real.source}"]
        lines.append(f"real floor: {self.real.n_floor} {self.real.floor_source}")
        lines += ["  ".join(cell.ljust(w) if i in (0, 3) else cell.rjust(w)
                            for i, (cell, w) in enumerate(zip(row, widths))).rstrip() for row in rows]
        if self.n != self.real.n_floor:
            lines.append(f"note: the floor uses {self.real.n_floor} images, not {self.n}; FID, KID and the "
                         "mode metrics depend on sample size, so compare with care")
        if self.real.reference is None:
            lines.append(f"note: {SKIPPED_FOR_STACKED}")
        if self.conditional is not None:
            lines += ["", *conditional_table(self.conditional)]
        return "\n".join(lines)


def _fmt(value: float) -> str:
    return f"{value:d}" if isinstance(value, int) else f"{value:.4g}"


def evaluate_images(images: np.ndarray, what: str, dataset: Dataset | None = None,
                    n: int | None = None, evaluator: Evaluator | None = None,
                    command: str = "counterfeit evaluator train --data ...", seed: int = 0) -> Report:
    """Every metric of uint8 (N, 28, 28) `images` (the first n; default 2,000) against real data
    (default: the embedded digits), judged by the evaluator of that data (else a one-line error
    naming `command`, which trains it). Stacked (N, 3, 28, 28) images: the mode metrics (default
    26,000 images) against stacked-mnist's floor, drawn from the run `seed`'s floor stream."""
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim not in (3, 4) or images.shape[-2:] != (28, 28):
        # a float image in [0, 1] read as uint8's 0-255 scale judged every pixel as black: FID 304 for real digits
        raise UserError(f"{what}: images are {images.dtype} {images.shape}, expected uint8 (N, 28, 28) or "
                        "(N, C, 28, 28)")
    dataset = dataset or load_dataset(STACKED if images.ndim == 4 else None)
    channels = 1 if images.ndim == 3 else images.shape[1]
    if channels != dataset.channels:
        raise UserError(f"{what}: {channels}-channel images cannot be judged against the "
                        f"{dataset.channels}-channel {dataset.source}")
    n = n or default_n(channels)
    evaluator = evaluator or require_evaluator(dataset, command)
    real = real_data(dataset, evaluator, n, seed)
    images = images[:n]
    if len(images) < 2 * K_DENSITY_COVERAGE:
        raise UserError(f"{what}: {len(images)} images are too few to evaluate (need {2 * K_DENSITY_COVERAGE})")
    metrics = compute(extract(evaluator, images), real.reference)
    return Report(what, len(images), real, evaluator, metrics)


def evaluate_real(data: str | Path | None = None, n: int | None = None, evaluator: Evaluator | None = None,
                  invert: bool = False, skip_bad: bool = False) -> Report:
    """The floor alone: held-out real images of `data` (default embedded) against the reference
    (stacked-mnist: fresh real stacked images, seed 0's floor stream)."""
    dataset = load_dataset(data, invert, skip_bad)
    evaluator = evaluator or require_evaluator(dataset, train_command(data, invert, skip_bad))
    real = real_data(dataset, evaluator, n or default_n(dataset.channels))
    return Report("held-out real images", real.n_floor, real, evaluator, dict(real.floor))


def evaluate_path(path: str | Path, n: int | None = None, seed: int = 0, data: str | Path | None = None,
                  evaluator: Evaluator | None = None, per_class: int = DEFAULT_PER_CLASS,
                  invert: bool = False, skip_bad: bool = False) -> Report:
    """A run directory (n samples of its final generator; writes eval.json there) or an .npz of
    samples (`images` uint8 N×28×28 or float in [0, 1]). Real data: `data`, else the run's own
    (with its `invert` and `skip_bad`), else the embedded digits; judged by the evaluator of that
    data. A conditional run's n samples are class-balanced, and it is also judged per class on
    `per_class` samples asked for each (see metrics/conditional.py)."""
    path = Path(path)
    if not path.is_dir():
        images = read_npz(path).images
        dataset = load_dataset(data or (STACKED if images.ndim == 4 else None), invert, skip_bad)
        return evaluate_images(images, str(path), dataset, n, evaluator, train_command(data, invert, skip_bad))
    generator, config = load_generator(path)
    if data is None:  # the run's own data, read as it trained on it; other data only as the options say
        data, invert, skip_bad = config.data, invert or config.invert, skip_bad or config.skip_bad
    dataset = load_dataset(data, invert, skip_bad, config.seed, config.stacked_size)
    evaluator = evaluator or require_evaluator(dataset, train_command(data, invert, skip_bad))
    n = n or default_n(config.channels)
    images = generate(generator, config, n, seed=seed)  # conditional: classes 0-9 in turn
    report = evaluate_images(images, f"{path} (final generator, seed {seed})", dataset, n, evaluator,
                             seed=config.seed)
    if config.conditional:
        report = replace(report, conditional=conditional_report(generator, config, dataset, evaluator,
                                                                per_class, seed))
    atomic_write_text(path / EVAL_FILE, json.dumps(report.to_json(), indent=2) + "\n")
    return report
