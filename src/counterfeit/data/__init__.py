"""Datasets in memory: the embedded MNIST, IDX and .npz readers, image folders, datasets by name
and their downloader."""

from counterfeit.data.dataset import Dataset
from counterfeit.data.download import download
from counterfeit.data.embedded import load_embedded
from counterfeit.data.folder import read_image_folder
from counterfeit.data.idx import read_idx, read_idx_dataset
from counterfeit.data.loading import load_dataset
from counterfeit.data.named import KNOWN, load_named
from counterfeit.data.npz import read_npz

__all__ = [
    "KNOWN",
    "Dataset",
    "download",
    "load_dataset",
    "load_embedded",
    "load_named",
    "read_idx",
    "read_idx_dataset",
    "read_image_folder",
    "read_npz",
]
