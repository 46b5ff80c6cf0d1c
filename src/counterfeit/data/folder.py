"""A folder of PNG/JPEG images as a Dataset: the images themselves (unlabelled), or one subfolder
per class (labels 0, 1, ... in the sorted order of the subfolder names).

Every image goes through data/convert.py's rule. The converted arrays are cached in the toolkit's
cache under a fingerprint of the folder's path and its files' relative paths, sizes, modification
times and inodes: reading those is a `stat` per file, so a second run starts at once, and any
added, removed, renamed, resized, touched or copied file makes a new entry. (A file rewritten in place with the same size and
mtime would go unnoticed; `touch` it.) Hidden files and folders (".name") are ignored.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from PIL import Image

from counterfeit.data.convert import FORMATS, Unconvertible, to_grayscale_28
from counterfeit.data.dataset import IMAGE_SHAPE, Dataset
from counterfeit.errors import DataError
from counterfeit.home import cache_dir, load_arrays, store_arrays

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
CONVERSION_VERSION = "2"  # bump when convert.py's rule changes, so cached arrays are rebuilt (2: 16-bit grey, tRNS)


def _visible(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    except OSError as error:
        raise DataError(f"{folder}: cannot list the folder ({error.strerror or error})") from None


def _listing(folder: Path) -> tuple[list[Path], list[int] | None, tuple[str, ...] | None]:
    """(files, their labels, class names); labels and names are None for a flat folder."""
    entries = _visible(folder)
    subfolders = [p for p in entries if p.is_dir()]
    if not subfolders:
        if not entries:
            raise DataError(f"{folder}: holds no PNG or JPEG images")
        return entries, None, None
    if len(subfolders) != len(entries):
        stray = next(p for p in entries if not p.is_dir())
        raise DataError(f"{folder}: holds class subfolders and also files such as {stray.name}; "
                        "put every image in a class subfolder (or use no subfolders)")
    files, labels = [], []
    for label, subfolder in enumerate(subfolders):
        members = _visible(subfolder)
        if not members:
            raise DataError(f"{subfolder}: class folder holds no images")
        files += members
        labels += [label] * len(members)
    return files, labels, tuple(p.name for p in subfolders)


def _fingerprint(folder: Path, files: list[Path]) -> str:
    digest = hashlib.sha256(f"{CONVERSION_VERSION}|{folder.resolve()}".encode())
    for path in files:
        try:
            stat = path.stat()
        except OSError as error:  # removed while we looked, or unreadable
            raise DataError(f"{path}: cannot read ({error.strerror or error})") from None
        # the file's identity too: two folders of the same names, sizes and times (archives unpacked
        # with their times kept) shared one entry, and the second read the first one's images
        # (the inode, not the device: an NFS mount or a container numbers its device anew)
        digest.update(f"{path.relative_to(folder).as_posix()}|{stat.st_size}|{stat.st_mtime_ns}|"
                      f"{stat.st_ino}\n".encode())
    return digest.hexdigest()[:20]


def _convert(path: Path) -> np.ndarray:
    """One file by the conversion rule; Unconvertible says why a file cannot be used."""
    if path.is_dir():
        raise Unconvertible("is a folder inside a class folder")
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise Unconvertible(f"not a PNG or JPEG file name ({', '.join(IMAGE_SUFFIXES)})")
    try:
        with Image.open(path) as image:
            if image.format not in FORMATS:
                raise Unconvertible(f"is {image.format}, not PNG or JPEG")
            image.load()  # decode now: a truncated or corrupt file fails here, by name
            return to_grayscale_28(image)
    except Unconvertible:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise Unconvertible(f"cannot be read as an image ({detail})") from None


def _convert_all(folder: Path, files: list[Path]) -> dict[str, np.ndarray]:
    images, good, bad, reasons = [], [], [], []
    for index, path in enumerate(files):
        try:
            images.append(_convert(path))
            good.append(index)
        except Unconvertible as error:
            bad.append(index)
            reasons.append(str(error))
    return {"images": np.stack(images) if images else np.zeros((0, *IMAGE_SHAPE), np.uint8),
            "good": np.array(good, np.int64), "bad": np.array(bad, np.int64),
            "reasons": np.array(json.dumps(reasons))}


def read_image_folder(folder: str | Path, skip_bad: bool = False) -> Dataset:
    """The folder's images by the conversion rule (converted once, then read from the cache).
    Files that are not readable PNG/JPEG images are a one-line error naming the first, unless
    `skip_bad`, which leaves them out."""
    folder = Path(folder)
    files, labels, classes = _listing(folder)
    entry = cache_dir() / f"images-{_fingerprint(folder, files)}.npz"
    arrays = load_arrays(entry)
    if arrays is None or not {"images", "good", "bad", "reasons"} <= set(arrays):
        arrays = _convert_all(folder, files)
        store_arrays(entry, arrays)
    bad, good = arrays["bad"], arrays["good"]
    if len(bad) and not skip_bad:
        first, reason = files[int(bad[0])], json.loads(str(arrays["reasons"]))[0]
        if len(bad) == 1:
            raise DataError(f"{first}: {reason}; fix or remove it, or pass --skip-bad to go on without it")
        raise DataError(f"{folder}: {len(bad)} files are not usable images, the first {first}: {reason}; "
                        "fix or remove them, or pass --skip-bad to go on without them")
    if len(good) == 0:
        raise DataError(f"{folder}: holds no readable PNG or JPEG images")
    kept_labels = None
    if labels is not None:
        kept_labels = np.asarray(labels, np.int64)[good]
        assert classes is not None
        empty = [name for label, name in enumerate(classes) if not (kept_labels == label).any()]
        if empty:
            raise DataError(f"{folder / empty[0]}: class folder holds no readable images")
    return Dataset(arrays["images"], kept_labels, str(folder), classes=classes)
