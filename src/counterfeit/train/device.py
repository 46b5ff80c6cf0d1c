"""Which device a run trains on: the config's `device`, with `auto` resolved to CUDA when present."""

from __future__ import annotations

import torch

from counterfeit.errors import ConfigError


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """`local_rank` picks the GPU of this process under torchrun (one GPU per process)."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device: cuda was asked for, but this torch sees no CUDA GPU (use cpu or auto)")
    if name == "cuda":
        reproducible_cuda()
    return torch.device("cuda", local_rank) if name == "cuda" else torch.device(name)


def reproducible_cuda() -> None:
    """cuDNN may pick a convolution algorithm that sums with atomics (a weight gradient's result
    then depends on thread timing) or time several and keep the fastest (the choice, and so the
    rounding, then varies between processes). Either would break the promise that a resumed run
    equals the uninterrupted one, so convolutions take cuDNN's deterministic algorithms, chosen by
    its heuristics. cuBLAS on one stream, as here, repeats its results without help."""
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
