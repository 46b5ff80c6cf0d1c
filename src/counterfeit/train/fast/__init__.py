"""The hand-written training step for fully connected G and D (see mlp_step.py)."""

from counterfeit.train.fast.mlp_step import MLPStep

__all__ = ["MLPStep"]
