"""Every metric by name: its JSON key, label, which way is better, and the computation behind it.

Each computation registers the metrics it yields with `@registers`: one may yield several
(precision, recall, density and coverage share one pass over the distances); `compute` runs each
needed computation once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from counterfeit.metrics.classes import class_kl, classes_covered, mnist_score
from counterfeit.metrics.features import FeatureSet
from counterfeit.metrics.fid import frechet_distance, gaussian_stats
from counterfeit.metrics.kid import kid
from counterfeit.metrics.memorisation import diversity, memorisation_ratio
from counterfeit.metrics.prdc import prdc
from counterfeit.metrics.reference import Reference


Computation = Callable[[FeatureSet, Reference], dict[str, float]]


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    better: str
    computation: Computation  # yields this key (and maybe others) in one pass

METRICS: dict[str, Metric] = {}  # by key, in the order tables and JSON list them


def registers(*metrics: tuple[str, str, str]) -> Callable[[Computation], Computation]:
    """Adds the (key, label, better) metrics that the decorated computation yields to METRICS."""
    def register(computation: Computation) -> Computation:
        for key, label, better in metrics:
            METRICS[key] = Metric(key, label, better, computation)
        return computation
    return register


@registers(("fid", "FID (MNIST evaluator)", "lower"))
def _fid(s: FeatureSet, r: Reference) -> dict[str, float]:
    return {"fid": frechet_distance(*gaussian_stats(s.features), r.mu, r.sigma)}


@registers(("kid", "KID (MNIST evaluator)", "lower"), ("kid_std", "  KID std over subsets", "-"))
def _kid(s: FeatureSet, r: Reference) -> dict[str, float]:
    mean, std = kid(s.features, r.train.features)
    return {"kid": mean, "kid_std": std}


@registers(("mnist_score", "MNIST score (classifier IS)", "higher (max 10)"))
def _classifier_score(s: FeatureSet, r: Reference) -> dict[str, float]:
    return {"mnist_score": mnist_score(s.probs)}


@registers(("precision", "precision (k=3)", "higher"), ("recall", "recall (k=3)", "higher"),
           ("density", "density (k=5)", "higher; real ~1"), ("coverage", "coverage (k=5)", "higher"))
def _prdc(s: FeatureSet, r: Reference) -> dict[str, float]:
    return prdc(r.train.features, s.features, r.radii_pr, r.radii_dc)


@registers(("classes_covered", "classes covered", "higher (max 10)"),
           ("class_kl", "class KL(data || samples)", "lower"))
def _classes(s: FeatureSet, r: Reference) -> dict[str, float]:
    return {"classes_covered": classes_covered(s.probs), "class_kl": class_kl(s.probs, r.class_hist)}


@registers(("memorisation", "nearest-train distance ratio", "~1; << 1 = copies"))
def _memorisation(s: FeatureSet, r: Reference) -> dict[str, float]:
    return {"memorisation": memorisation_ratio(s.pixels, r.train.pixels, r.heldout_nearest_train)}


@registers(("diversity", "diversity ratio (pixels)", "~1; low = collapse"))
def _diversity(s: FeatureSet, r: Reference) -> dict[str, float]:
    return {"diversity": diversity(s.pixels) / r.diversity}


# What training logs every `eval_every` steps: cheap, and what collapse detection reads.
FAST = ("fid", "precision", "recall", "classes_covered", "diversity")


def compute(sample: FeatureSet, reference: Reference, keys: Iterable[str] | None = None) -> dict[str, float]:
    """The named metrics (all by default) of `sample` against `reference`, in registry order."""
    wanted = list(METRICS) if keys is None else [k for k in METRICS if k in set(keys)]
    values: dict[str, float] = {}
    for computation in dict.fromkeys(METRICS[k].computation for k in wanted):
        values.update(computation(sample, reference))
    return {k: values[k] for k in wanted}
