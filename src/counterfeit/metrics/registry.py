"""Every metric by name: its JSON key, label, which way is better, and the computation behind it.
Labels name the evaluator's data ("FID (Fashion-MNIST evaluator)"): `Metric.label_for` fills it in.

A computation ("group") may yield several keys (precision, recall, density and coverage share
one pass over the distances); `compute` runs each needed group once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from counterfeit.metrics.classes import class_kl, classes_covered, classifier_score
from counterfeit.metrics.features import FeatureSet
from counterfeit.metrics.fid import frechet_distance, gaussian_stats
from counterfeit.metrics.kid import kid
from counterfeit.metrics.memorisation import diversity, memorisation_ratio
from counterfeit.metrics.prdc import prdc
from counterfeit.metrics.reference import Reference


@dataclass(frozen=True)
class Metric:
    key: str
    label: str  # may hold {data}: the evaluator's data, and {classes}: its number of classes
    better: str
    group: str

    def label_for(self, data: str, classes: int) -> tuple[str, str]:
        """(label, better) with the evaluator's data and number of classes filled in."""
        return (self.label.format(data=data, classes=classes), self.better.format(data=data, classes=classes))


def _fid(s: FeatureSet, r: Reference) -> dict[str, float]:
    return {"fid": frechet_distance(*gaussian_stats(s.features), r.mu, r.sigma)}


def _kid(s: FeatureSet, r: Reference) -> dict[str, float]:
    mean, std = kid(s.features, r.train.features)
    return {"kid": mean, "kid_std": std}


def _prdc(s: FeatureSet, r: Reference) -> dict[str, float]:
    return prdc(r.train.features, s.features, r.radii_pr, r.radii_dc)


def _classes(s: FeatureSet, r: Reference) -> dict[str, float]:
    return {"classifier_score": classifier_score(s.probs), "classes_covered": classes_covered(s.probs),
            "class_kl": class_kl(s.probs, r.class_hist)}


def _memorisation(s: FeatureSet, r: Reference) -> dict[str, float]:
    return {"memorisation": memorisation_ratio(s.pixels, r.train.pixels, r.heldout_nearest_train)}


def _diversity(s: FeatureSet, r: Reference) -> dict[str, float]:
    return {"diversity": diversity(s.pixels) / r.diversity}


GROUPS: dict[str, Callable[[FeatureSet, Reference], dict[str, float]]] = {
    "fid": _fid, "kid": _kid, "prdc": _prdc, "classes": _classes,
    "memorisation": _memorisation, "diversity": _diversity,
}

METRICS: dict[str, Metric] = {m.key: m for m in (
    Metric("fid", "FID ({data} evaluator)", "lower", "fid"),
    Metric("kid", "KID ({data} evaluator)", "lower", "kid"),
    Metric("kid_std", "  KID std over subsets", "-", "kid"),
    Metric("classifier_score", "{data} classifier score (IS)", "higher (max {classes})", "classes"),
    Metric("precision", "precision (k=3)", "higher", "prdc"),
    Metric("recall", "recall (k=3)", "higher", "prdc"),
    Metric("density", "density (k=5)", "higher; real ~1", "prdc"),
    Metric("coverage", "coverage (k=5)", "higher", "prdc"),
    Metric("classes_covered", "classes covered", "higher (max {classes})", "classes"),
    Metric("class_kl", "class KL(data || samples)", "lower", "classes"),
    Metric("memorisation", "nearest-train distance ratio", "~1; << 1 = copies", "memorisation"),
    Metric("diversity", "diversity ratio (pixels)", "~1; low = collapse", "diversity"),
)}

# What training logs every `eval_every` steps: cheap, and what collapse detection reads.
FAST = ("fid", "precision", "recall", "classes_covered", "diversity")


def compute(sample: FeatureSet, reference: Reference, keys: Iterable[str] | None = None) -> dict[str, float]:
    """The named metrics (all by default) of `sample` against `reference`, in registry order."""
    wanted = list(METRICS) if keys is None else [k for k in METRICS if k in set(keys)]
    values: dict[str, float] = {}
    for group in dict.fromkeys(METRICS[k].group for k in wanted):
        values.update(GROUPS[group](sample, reference))
    return {k: values[k] for k in wanted}

# Earlier names of renamed keys, still written where they are true: an MNIST evaluator's score
# is the MNIST score, so eval.json of MNIST data keeps `mnist_score` beside `classifier_score`.
MNIST_ALIASES = {"mnist_score": "classifier_score"}
