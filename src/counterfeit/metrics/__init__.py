"""Judging GANs: an evaluator network per dataset (MNIST's ships with the package), metrics as
pure functions of its features, the real-data floor beside every number, and collapse signals
during training.

    >>> from counterfeit.metrics import evaluate_path
    >>> report = evaluate_path(Path("runs/mlp2-..."), n=2000)   # also writes eval.json there
    >>> report.metrics["fid"], report.real.floor["fid"]
"""

from counterfeit.metrics.evaluate import DEFAULT_N, Report, evaluate_images, evaluate_path, evaluate_real
from counterfeit.metrics.evaluator import load_evaluator
from counterfeit.metrics.features import FeatureSet, extract
from counterfeit.metrics.registry import FAST, METRICS, compute

__all__ = ["DEFAULT_N", "FAST", "METRICS", "FeatureSet", "Report", "compute", "evaluate_images",
           "evaluate_path", "evaluate_real", "extract", "load_evaluator"]
