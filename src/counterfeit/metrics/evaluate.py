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
from counterfeit.errors import DataError, UserError
from counterfeit.fileio import atomic_write_text
from counterfeit.metrics import cache
from counterfeit.metrics.conditional import DEFAULT_PER_CLASS, conditional_report, conditional_table
from counterfeit.metrics.evaluator import Evaluator, load_evaluator
from counterfeit.metrics.features import extract
from counterfeit.metrics.prdc import K_DENSITY_COVERAGE
from counterfeit.metrics.reference import Reference, build_reference, pixels_of, real_images
from counterfeit.metrics.registry import METRICS, compute
from counterfeit.rundir import EVAL_FILE
from counterfeit.sampling import generate, load_generator

DEFAULT_N = 2000  # all the held-out digits the embedded set affords


@dataclass(frozen=True)
class RealData:
    reference: Reference
    floor: dict[str, float]  # every metric of the held-out images against the reference
    source: str

    @property
    def n_reference(self) -> int:
        return len(self.reference.train)

    @property
    def n_floor(self) -> int:
        return len(self.reference.heldout)


def real_data(dataset: Dataset, evaluator: Evaluator, n: int) -> RealData:
    """Reference statistics and floor for up to n reference and n held-out images, cached under
    (dataset fingerprint, evaluator sha256, n)."""
    train_images, heldout_images = real_images(dataset, n)
    if len(heldout_images) < 2 * K_DENSITY_COVERAGE:
        raise DataError(f"{dataset.source}: {len(dataset)} images leave too few held out to compare with")
    path = cache.cache_path("real", dataset.fingerprint, evaluator.sha256, n)
    arrays = cache.load(path)
    if arrays is not None and "floor" in arrays:
        reference = Reference.from_arrays(arrays, pixels_of(train_images), pixels_of(heldout_images))
        return RealData(reference, json.loads(str(arrays["floor"])), dataset.source)
    reference = build_reference(train_images, heldout_images, evaluator)
    floor = compute(reference.heldout, reference)
    cache.store(path, {**reference.to_arrays(), "floor": np.array(json.dumps(floor))})
    return RealData(reference, floor, dataset.source)


@dataclass(frozen=True)
class Report:
    what: str
    n: int
    real: RealData
    evaluator_sha256: str
    metrics: dict[str, float] = field(default_factory=dict)
    conditional: dict[str, Any] | None = None  # a conditional run's per-digit scores

    def to_json(self) -> dict[str, Any]:
        extra = {} if self.conditional is None else {"conditional": self.conditional}
        return {"n": self.n, "n_reference": self.real.n_reference, "n_floor": self.real.n_floor,
                "evaluated": self.what, "data": self.real.source,
                "evaluator_sha256": self.evaluator_sha256,
                "metrics": self.metrics, "floor": self.real.floor, **extra}

    def table(self) -> str:
        rows = [("metric", "value", "real floor", "better")]
        rows += [(METRICS[k].label, _fmt(v), _fmt(self.real.floor[k]), METRICS[k].better)
                 for k, v in self.metrics.items()]
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        lines = [f"{self.what}: {self.n} images against {self.real.n_reference} reference images "
                 f"of {self.real.source}",
                 f"real floor: {self.real.n_floor} held-out real images against the same reference"]
        lines += ["  ".join(cell.ljust(w) if i in (0, 3) else cell.rjust(w)
                            for i, (cell, w) in enumerate(zip(row, widths))).rstrip() for row in rows]
        if self.n != self.real.n_floor:
            lines.append(f"note: the floor uses {self.real.n_floor} images, not {self.n}; FID and KID "
                         "depend on sample size, so compare with care")
        if self.conditional is not None:
            lines += ["", *conditional_table(self.conditional)]
        return "\n".join(lines)


def _fmt(value: float) -> str:
    return f"{value:d}" if isinstance(value, int) else f"{value:.4g}"


def evaluate_images(images: np.ndarray, what: str, dataset: Dataset | None = None,
                    n: int = DEFAULT_N, evaluator: Evaluator | None = None) -> Report:
    """Every metric of uint8 (N, 28, 28) `images` (the first n) against real data (default: the
    embedded digits)."""
    evaluator = evaluator or load_evaluator()
    real = real_data(dataset or load_dataset(None), evaluator, n)
    images = images[:n]
    if len(images) < 2 * K_DENSITY_COVERAGE:
        raise UserError(f"{what}: {len(images)} images are too few to evaluate (need {2 * K_DENSITY_COVERAGE})")
    metrics = compute(extract(evaluator, images), real.reference)
    return Report(what, len(images), real, evaluator.sha256, metrics)


def evaluate_real(data: str | Path | None = None, n: int = DEFAULT_N,
                  evaluator: Evaluator | None = None) -> Report:
    """The floor alone: held-out real images of `data` (default embedded) against the reference."""
    evaluator = evaluator or load_evaluator()
    real = real_data(load_dataset(data), evaluator, n)
    return Report("held-out real images", real.n_floor, real, evaluator.sha256, dict(real.floor))


def evaluate_path(path: str | Path, n: int = DEFAULT_N, seed: int = 0, data: str | Path | None = None,
                  evaluator: Evaluator | None = None, per_class: int = DEFAULT_PER_CLASS) -> Report:
    """A run directory (n samples of its final generator; writes eval.json there) or an .npz of
    samples (`images` uint8 N×28×28 or float in [0, 1]). Real data: `data`, else the run's own,
    else the embedded digits. A conditional run's n samples are class-balanced, and it is also
    judged per digit on `per_class` samples asked for each (see metrics/conditional.py)."""
    path = Path(path)
    if not path.is_dir():
        return evaluate_images(read_npz(path).images, str(path), load_dataset(data), n, evaluator)
    evaluator = evaluator or load_evaluator()
    generator, config = load_generator(path)
    dataset = load_dataset(data or config.data)
    images = generate(generator, config, n, seed=seed)  # conditional: digits 0-9 in turn
    report = evaluate_images(images, f"{path} (final generator, seed {seed})", dataset, n, evaluator)
    if config.conditional:
        report = replace(report, conditional=conditional_report(generator, config, dataset, evaluator,
                                                                per_class, seed))
    atomic_write_text(path / EVAL_FILE, json.dumps(report.to_json(), indent=2) + "\n")
    return report
