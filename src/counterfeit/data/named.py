"""Datasets by name: MNIST, Fashion-MNIST and KMNIST, their published files and checksums, and
where a copy is found (the toolkit's cache, then system-wide copies such as Debian's package).

`--data fashion-mnist` trains on the 60,000 training images and labels; the 10,000 test images
are downloaded too and can be given by path. Every file is checked against its pinned md5 before
it is read, so a damaged or swapped copy is a one-line error, never different data.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from counterfeit.data.dataset import Dataset
from counterfeit.data.idx import read_idx_dataset
from counterfeit.errors import ConfigError, DataError
from counterfeit.home import cache_dir

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"


@dataclass(frozen=True)
class PublishedFile:
    name: str
    md5: str  # of the published .gz file
    size: int | None  # bytes, where the publisher states it exactly
    # md5s of the same data recompressed by a distribution: Debian strips the file name and the
    # time from the gzip header (restoring them reproduces `md5`, checked for Fashion-MNIST).
    repackaged_md5: tuple[str, ...] = ()

    def accepts(self, md5: str) -> bool:
        return md5 == self.md5 or md5 in self.repackaged_md5


@dataclass(frozen=True)
class NamedDataset:
    name: str  # what `--data` and `download --dataset` take
    title: str
    mirror: str  # base URL of the four files
    files: tuple[PublishedFile, ...]  # train images, train labels, test images, test labels
    classes: tuple[str, ...]
    system_dirs: tuple[str, ...] = field(default=())

    def file(self, name: str) -> PublishedFile:
        return next(f for f in self.files if f.name == name)


KNOWN: dict[str, NamedDataset] = {d.name: d for d in (
    NamedDataset(
        "mnist", "MNIST", "https://ossci-datasets.s3.amazonaws.com/mnist/",
        (PublishedFile(TRAIN_IMAGES, "f68b3c2dcbeaaa9fbdd348bbdeb94873", 9912422),
         PublishedFile(TRAIN_LABELS, "d53e105ee54ea40749a09fcbcd1e9432", 28881),
         PublishedFile(TEST_IMAGES, "9fb629c4189551a2d022fa330f9573f3", 1648877),
         PublishedFile(TEST_LABELS, "ec29112dd5afa0611ce80d1b7f02629c", 4542)),
        tuple("0123456789")),
    NamedDataset(
        "fashion-mnist", "Fashion-MNIST", "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        (PublishedFile(TRAIN_IMAGES, "8d4fb7e6c68d591d4c3dfef9ec88bf0d", 26421880,
                       ("cf8536b0aa1a6ac5fa3f23001093305c",)),
         PublishedFile(TRAIN_LABELS, "25c81989df183df01b3e8a0aad5dffbe", 29515,
                       ("10bea18fdb374794d4bb42e356e600c9",)),
         PublishedFile(TEST_IMAGES, "bef4ecab320f06d8554ea6380940ec79", 4422102,
                       ("f78720b4224f21cce2f2ccf2d7a94c9a",)),
         PublishedFile(TEST_LABELS, "bb300cfdad3c16e7a12a480ee83cd310", 5148,
                       ("0d30e22e447f3c33dab9ed536400ac01",))),
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
         "Ankle boot"),
        system_dirs=("/usr/share/datasets/fashion-mnist",)),  # Debian: dataset-fashion-mnist
    NamedDataset(
        "kmnist", "KMNIST", "http://codh.rois.ac.jp/kmnist/dataset/kmnist/",
        # rois-codh/kmnist states only rounded sizes (18 MB, 30 KB, 3 MB, 5 KB)
        (PublishedFile(TRAIN_IMAGES, "bdb82020997e1d708af4cf47b453dcf7", None),
         PublishedFile(TRAIN_LABELS, "e144d726b3acfaa3e44228e80efcd344", None),
         PublishedFile(TEST_IMAGES, "5c965bf0a639b31b8f53240b1b52f4d7", None),
         PublishedFile(TEST_LABELS, "7320c461ea6c1c855c0b718fb2a4b134", None)),
        ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo")),
)}


def named_dataset(name: str) -> NamedDataset:
    if name not in KNOWN:
        raise ConfigError(f"dataset: unknown '{name}' (expected one of {', '.join(KNOWN)})")
    return KNOWN[name]


def download_dir(name: str) -> Path:
    """Where `counterfeit download --dataset NAME` puts the files by default."""
    return cache_dir() / "datasets" / name


def file_md5(path: str | os.PathLike[str]) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def locate(spec: NamedDataset) -> Path:
    """The first folder holding the training images and labels: the cache, then system copies."""
    folders = [download_dir(spec.name), *map(Path, spec.system_dirs)]
    for folder in folders:
        if (folder / TRAIN_IMAGES).is_file() and (folder / TRAIN_LABELS).is_file():
            return folder
    raise DataError(f"{spec.name}: {spec.title} is not downloaded (looked in {', '.join(map(str, folders))}); "
                    f"run `counterfeit download --dataset {spec.name}`")


def load_named(name: str) -> Dataset:
    """The 60,000 training images and labels of a known dataset, after checking both files' md5."""
    spec = named_dataset(name)
    folder = locate(spec)
    for file_name in (TRAIN_IMAGES, TRAIN_LABELS):
        path = folder / file_name
        try:
            md5 = file_md5(path)
        except OSError as error:
            raise DataError(f"{path}: cannot read ({error.strerror or error})") from None
        if not spec.file(file_name).accepts(md5):
            raise DataError(f"{path}: md5 {md5} is not the published {spec.file(file_name).md5}; the file is "
                            f"damaged or not {spec.title}: run `counterfeit download --dataset {name}` again")
    dataset = read_idx_dataset(folder / TRAIN_IMAGES)
    return Dataset(dataset.images, dataset.labels, f"{spec.title} ({folder / TRAIN_IMAGES})", name, spec.classes)


def identify(path: Path) -> NamedDataset | None:
    """The known dataset whose published training or test images file `path` is, by md5."""
    try:
        md5 = file_md5(path)
    except OSError:
        return None  # the reader reports why
    for spec in KNOWN.values():
        if any(spec.file(name).accepts(md5) for name in (TRAIN_IMAGES, TEST_IMAGES)):
            return spec
    return None
