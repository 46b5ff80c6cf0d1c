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
    return torch.device("cuda", local_rank) if name == "cuda" else torch.device(name)
