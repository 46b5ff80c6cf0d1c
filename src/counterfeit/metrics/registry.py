"""Every metric by name: its JSON key, label, which way is better, and the computation behind it.

Each computation registers the metrics it yields with `@registers`: one may yield several
(precision, recall, density and coverage share one pass over the distances); `compute` runs each
needed computation once. A metric is of grey images (C = 1: every metric but the modes) or of
Stacked MNIST's 3-channel ones (the modes); `compute` runs those of the sample's kind. Labels name the evaluator's data ("FID (Fashion-MNIST evaluator)"):
`Metric.label_for` fills it in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from counterfeit.metrics.classes import class_kl, classes_covered, classifier_score
from counterfeit.metrics.features import FeatureSet
from counterfeit.metrics.fid import frechet_distance, gaussian_stats
from counterfeit.metrics.kid import kid
from counterfeit.metrics.memorisation import diversity, memorisation_ratio
from counterfeit.metrics.modes import channel_kl, mode_kl, modes_covered, modes_of, unclear_reads
from counterfeit.metrics.prdc import prdc
from counterfeit.metrics.reference import Reference


# The reference is None for 3-channel samples: the modes are judged against the uniform histogram.
Computation = Callable[[FeatureSet, Reference | None], dict[str, float]]
GREY, STACKED_CHANNELS = 1, 3
NUM_MODES = 10**STACKED_CHANNELS  # a digit per channel


@dataclass(frozen=True)
class Metric:
    key: str
    label: str  # label and better may hold {data}: the evaluator's data, and {classes}: its number of classes
    better: str
    computation: Computation  # yields this key (and maybe others) in one pass
    channels: int = GREY  # the images it judges: grey, or stacked (3 channels)

    def label_for(self, data: str = "the data's", classes: int | str = "K") -> tuple[str, str]:
        """(label, better) with the evaluator's data and number of classes filled in (by default
        unnamed, for views of several runs or of records that do not say: "FID (the data's evaluator)")."""
        return (self.label.format(data=data, classes=classes), self.better.format(data=data, classes=classes))


METRICS: dict[str, Metric] = {}  # by key, in the order tables and JSON list them


def registers(*metrics: tuple[str, str, str], channels: int = GREY) -> Callable[[Computation], Computation]:
    """Adds the (key, label, better) metrics that the decorated computation yields to METRICS."""
    def register(computation: Computation) -> Computation:
        for key, label, better in metrics:
            METRICS[key] = Metric(key, label, better, computation, channels)
        return computation
    return register


@registers(("fid", "FID ({data} evaluator)", "lower"))
def _fid(s: FeatureSet, r: Reference) -> dict[str, float]:
    return {"fid": frechet_distance(*gaussian_stats(s.features), r.mu, r.sigma)}


@registers(("kid", "KID ({data} evaluator)", "lower"), ("kid_std", "  KID std over subsets", "-"))
def _kid(s: FeatureSet, r: Reference) -> dict[str, float]:
    mean, std = kid(s.features, r.train.features)
    return {"kid": mean, "kid_std": std}


@registers(("classifier_score", "{data} classifier score (IS)", "higher (max {classes})"))
def _classifier_score(s: FeatureSet, r: Reference) -> dict[str, float]:
    return {"classifier_score": classifier_score(s.probs)}


@registers(("precision", "precision (k=3)", "higher"), ("recall", "recall (k=3)", "higher"),
           ("density", "density (k=5)", "higher; real ~1"), ("coverage", "coverage (k=5)", "higher"))
def _prdc(s: FeatureSet, r: Reference) -> dict[str, float]:
    return prdc(r.train.features, s.features, r.radii_pr, r.radii_dc)


@registers(("classes_covered", "classes covered", "higher (max {classes})"),
           ("class_kl", "class KL(data || samples)", "lower"))
def _classes(s: FeatureSet, r: Reference) -> dict[str, float]:
    return {"classes_covered": classes_covered(s.probs), "class_kl": class_kl(s.probs, r.class_hist)}


@registers(("memorisation", "nearest-train distance ratio", "~1; << 1 = copies"))
def _memorisation(s: FeatureSet, r: Reference) -> dict[str, float]:
    return {"memorisation": memorisation_ratio(s.pixels, r.train.pixels, r.heldout_nearest_train)}


@registers(("diversity", "diversity ratio (pixels)", "~1; low = collapse"))
def _diversity(s: FeatureSet, r: Reference) -> dict[str, float]:
    return {"diversity": diversity(s.pixels) / r.diversity}


@registers(("modes_covered", "modes covered (of 1,000)", "higher (max 1000)"),
           ("mode_kl", "mode KL(samples || uniform)", "lower"),
           ("channel_kl", "  digit KL per channel, summed", "lower"),
           ("unclear_reads", "  channels read with confidence < 0.9", "lower"), channels=STACKED_CHANNELS)
def _modes(s: FeatureSet, r: Reference | None) -> dict[str, float]:
    digits = s.probs.argmax(1).view(-1, s.channels)  # (N, C): the digit read in each channel
    modes = modes_of(digits)
    return {"modes_covered": modes_covered(modes, NUM_MODES), "mode_kl": mode_kl(modes, NUM_MODES),
            "channel_kl": channel_kl(digits), "unclear_reads": unclear_reads(s.probs)}


# What training logs every `eval_every` steps: cheap, and what collapse detection reads (grey
# samples get the first six, stacked ones the modes). class_kl comes free with classes_covered.
FAST = ("fid", "precision", "recall", "classes_covered", "class_kl", "diversity", "modes_covered", "mode_kl")


def keys_for(channels: int) -> list[str]:
    """The metrics of images with `channels` channels: FID & co. read one grey digit, so a 3-channel
    image gets the modes only (the benchmark's own measure)."""
    return [key for key, metric in METRICS.items() if metric.channels == channels]


def compute(sample: FeatureSet, reference: Reference | None, keys: Iterable[str] | None = None) -> dict[str, float]:
    """The named metrics (all by default) of `sample`'s kind against `reference`, in registry order."""
    kind = keys_for(sample.channels)
    wanted = kind if keys is None else [k for k in kind if k in set(keys)]
    values: dict[str, float] = {}
    for computation in dict.fromkeys(METRICS[k].computation for k in wanted):
        values.update(computation(sample, reference))
    return {k: values[k] for k in wanted}


# Earlier names of renamed keys, still written where they are true: an MNIST evaluator's score
# is the MNIST score, so eval.json of MNIST data keeps `mnist_score` beside `classifier_score`.
MNIST_ALIASES = {"mnist_score": "classifier_score"}
