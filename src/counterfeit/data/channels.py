"""The config's `channels` against the data's: G draws, and D reads, that many channels."""

from __future__ import annotations

from counterfeit.config import Config
from counterfeit.data.dataset import Dataset
from counterfeit.errors import DataError


def require_channels(dataset: Dataset, config: Config) -> None:
    """A mismatch fails before any work, naming both counts."""
    if dataset.channels != config.channels:
        raise DataError(f"{dataset.source}: has {dataset.channels}-channel images, but channels = "
                        f"{config.channels} (set channels = {dataset.channels})")
