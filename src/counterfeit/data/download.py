"""Fetch the full MNIST or Fashion-MNIST (60,000 + 10,000 images) for users who are online.

Each file is checked against its published md5 before it is moved into place, so a file in
dest_dir is either complete and correct or absent.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from counterfeit.errors import ConfigError, DataError
from counterfeit.fileio import atomic_write_bytes

DatasetName = Literal["mnist", "fashion-mnist"]

MIRRORS: dict[str, str] = {
    "mnist": "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "fashion-mnist": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
}
MD5SUMS: dict[str, dict[str, str]] = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
}


def download_mnist(
    dest_dir: str | os.PathLike[str],
    *,
    dataset: DatasetName = "mnist",
    base_url: str | None = None,
    timeout: float = 30,
    checksums: Mapping[str, str] | None = None,
) -> list[Path]:
    """Download the four .gz IDX files into dest_dir and return their paths, in the order of
    `checksums` (train images, train labels, test images, test labels by default).

    Files already present with the right md5 are not fetched again. `base_url` and `checksums`
    (file name -> md5) replace the defaults, e.g. for a private mirror.
    """
    if dataset not in MD5SUMS:
        raise ConfigError(f"dataset: unknown '{dataset}' (expected one of {', '.join(MD5SUMS)})")
    base_url = base_url or MIRRORS[dataset]
    base_url = base_url if base_url.endswith("/") else base_url + "/"
    dest_dir = Path(dest_dir)
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(f"{dest_dir}: cannot create directory ({error.strerror})") from None

    paths = []
    for name, expected_md5 in (checksums or MD5SUMS[dataset]).items():
        path = dest_dir / name
        if _file_md5(path) != expected_md5:
            url = base_url + name
            data = _fetch(url, timeout)
            actual_md5 = _md5(data)
            if actual_md5 != expected_md5:
                raise DataError(f"{url}: md5 {actual_md5} does not match expected {expected_md5}")
            try:
                atomic_write_bytes(path, data)
            except OSError as error:
                raise DataError(f"{path}: cannot write ({error.strerror})") from None
        paths.append(path)
    return paths


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _file_md5(path: Path) -> str | None:
    try:
        return _md5(path.read_bytes())
    except OSError:  # absent or unreadable: fetch it again, and a write error will say why
        return None


def _fetch(url: str, timeout: float) -> bytes:
    # Whole files in memory: the largest is under 30 MB, and it keeps network and disk errors apart.
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read()
    except urllib.error.HTTPError as error:
        error.close()  # else its open response leaks a ResourceWarning
        raise DataError(f"{url}: download failed (HTTP {error.code} {error.reason})") from None
    except urllib.error.URLError as error:
        raise DataError(f"{url}: download failed ({error.reason})") from None
    except (OSError, http.client.HTTPException) as error:
        raise DataError(f"{url}: download failed ({type(error).__name__}: {error})") from None
