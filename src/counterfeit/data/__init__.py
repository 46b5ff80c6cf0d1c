"""Datasets in memory: the embedded MNIST, IDX and .npz readers, and a downloader."""

from counterfeit.data.dataset import Dataset
from counterfeit.data.download import download_mnist
from counterfeit.data.embedded import load_embedded
from counterfeit.data.idx import read_idx, read_idx_dataset
from counterfeit.data.loading import load_dataset
from counterfeit.data.npz import read_npz

__all__ = [
    "Dataset",
    "download_mnist",
    "load_dataset",
    "load_embedded",
    "read_idx",
    "read_idx_dataset",
    "read_npz",
]
