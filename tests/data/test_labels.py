from __future__ import annotations

import numpy as np
import pytest

from counterfeit.config import resolve
from counterfeit.data.dataset import Dataset
from counterfeit.data.labels import require_labels
from counterfeit.errors import UserError


def test_conditional_model_needs_labels() -> None:
    images = np.zeros((20, 28, 28), np.uint8)
    config = resolve(preset="cgan")
    with pytest.raises(UserError, match="is conditional and needs labels"):
        require_labels(Dataset(images, None, "x.npz"), config)
    with pytest.raises(UserError, match="label 12"):
        require_labels(Dataset(images, np.full(20, 12, np.int64), "x.npz"), config)
    require_labels(Dataset(images, np.arange(20, dtype=np.int64) % 10, "x.npz"), config)
    require_labels(Dataset(images, None, "x.npz"), resolve(preset="tiny"))  # unconditional: fine
