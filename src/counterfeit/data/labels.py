"""Class labels of a dataset: conditional models need them, as digits 0 to NUM_CLASSES - 1."""

from __future__ import annotations

from counterfeit.config import Config
from counterfeit.data.dataset import Dataset
from counterfeit.errors import ConfigError

NUM_CLASSES = 10  # digits 0-9
# where labels come from, for every message about data that has none
LABEL_SOURCES = "one subfolder per class, an IDX labels file beside the images, or an npz 'labels' array"


def require_labels(dataset: Dataset, config: Config) -> None:
    """A conditional model trains on labelled digits 0-9; anything else fails before any work."""
    if not config.conditional:
        return
    if dataset.labels is None:
        raise ConfigError(f"{dataset.source}: model {config.model} is conditional and needs labels "
                          f"({LABEL_SOURCES}); this data has none")
    if dataset.labels.max() >= NUM_CLASSES:
        raise ConfigError(f"{dataset.source}: model {config.model} draws classes 0-{NUM_CLASSES - 1}, "
                          f"but the data has label {int(dataset.labels.max())}")
