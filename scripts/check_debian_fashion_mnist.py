"""Check that Debian's dataset-fashion-mnist holds the published Fashion-MNIST files.

Debian's .gz files differ from the published ones only in the gzip header: packaging strips the
original file name (FNAME) and sets the time to the package's. Restoring the published header
(flag FNAME, the original time, extra flags 0, OS 3 = Unix, the file name) in front of Debian's
unchanged deflate stream must reproduce the md5 and size that Zalando's README publishes, pinned
in counterfeit/data/named.py. The original times were found by searching the summer of 2017 for
the one second that reproduces the published md5 of t10k-labels (then the others within minutes).

    apt-get install -y dataset-fashion-mnist
    .venv/bin/python scripts/check_debian_fashion_mnist.py
"""

from __future__ import annotations

import hashlib
import struct
import sys
from pathlib import Path

from counterfeit.data.named import KNOWN

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
ORIGINAL_TIMES = {  # gzip MTIME of the published files (2017-08-31 10:50 UTC)
    "train-images-idx3-ubyte.gz": 1504176606,
    "train-labels-idx1-ubyte.gz": 1504176606,
    "t10k-images-idx3-ubyte.gz": 1504176627,
    "t10k-labels-idx1-ubyte.gz": 1504176627,
}
GZIP_HEADER_SIZE = 10  # magic (2), method, flags, mtime (4), extra flags, OS
FNAME_FLAG = 0x08


def published_bytes(debian: bytes, name: str) -> bytes:
    if debian[3] & FNAME_FLAG:
        raise ValueError(f"{name}: Debian's file already has a file name in its gzip header")
    header = b"\x1f\x8b\x08" + bytes([FNAME_FLAG]) + struct.pack("<I", ORIGINAL_TIMES[name]) + b"\x00\x03"
    original_name = name.removesuffix(".gz").encode() + b"\x00"
    return header + original_name + debian[GZIP_HEADER_SIZE:]


def main() -> int:
    spec, failures = KNOWN["fashion-mnist"], 0
    for published in spec.files:
        debian = (DEBIAN_DIR / published.name).read_bytes()
        restored = published_bytes(debian, published.name)
        md5 = hashlib.md5(restored).hexdigest()
        ok = md5 == published.md5 and len(restored) == published.size
        ok = ok and hashlib.md5(debian).hexdigest() in published.repackaged_md5
        failures += not ok
        print(f"{published.name}: Debian {len(debian)} bytes, restored {len(restored)} bytes, md5 {md5} "
              f"{'matches' if ok else 'DOES NOT match'} the published {published.md5} ({published.size} bytes)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
