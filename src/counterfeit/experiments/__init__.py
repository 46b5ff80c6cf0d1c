"""Experiments: variants of a config, trained over several seeds each, judged and compared with
confidence intervals; on worker processes of this machine or on Ray.

    >>> from counterfeit.experiments import run_experiment, summarize
    >>> root = run_experiment("experiments/d_minimax_loss.toml", workers=2)   # resumable
    >>> summarize(root)["comparisons"][0]["metrics"]["fid"]["verdict"]
"""

from counterfeit.experiments.runner import run_experiment
from counterfeit.experiments.spec import Experiment, load_experiment
from counterfeit.experiments.summary import summarize, write_summary

__all__ = ["Experiment", "load_experiment", "run_experiment", "summarize", "write_summary"]
