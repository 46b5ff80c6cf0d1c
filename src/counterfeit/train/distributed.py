"""One process or N under `torchrun`: the same loop, told by the environment which rank it is.

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK. The global batch stays the config's: each rank
takes its slice of the same real batch and of the same noise draw, computes mean losses over its
slice, and the ranks average their gradients, so the update is that of one process on the whole
batch (up to float rounding). Rank 0 alone writes the run directory.

Gradients are averaged by one explicit all-reduce per update rather than by wrapping the modules in
DistributedDataParallel: DDP's all-reduce hooks fire on `.backward()`, while our step takes each
net's gradients with `torch.autograd.grad` (so G's update computes no gradients for D's weights);
one flat all-reduce per update is what DDP's single bucket does for models this small.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn

from counterfeit.config import Config
from counterfeit.errors import ConfigError


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def shard(self, batch: Tensor) -> Tensor:
        """This rank's rows of a global batch (the whole batch in one process)."""
        if self.size == 1:
            return batch
        n = batch.shape[0] // self.size
        return batch[self.rank * n:(self.rank + 1) * n]

    def average(self, tensors: list[Tensor]) -> list[Tensor]:
        """The mean over ranks of each tensor, in one all-reduce; the tensors themselves in one process."""
        if self.size == 1:
            return tensors
        flat = torch.cat([t.reshape(-1) for t in tensors])
        dist.all_reduce(flat)
        flat /= self.size
        return [part.view_as(t) for part, t in zip(flat.split([t.numel() for t in tensors]), tensors)]

    def broadcast_modules(self, *modules: nn.Module) -> None:
        """Every rank starts from rank 0's weights (they are seeded alike; this makes it certain)."""
        if self.size > 1:
            for module in modules:
                for tensor in module.state_dict().values():
                    dist.broadcast(tensor, src=0)

    def from_main(self, value: Any) -> Any:
        """Rank 0's value of a picklable object (e.g. a run path holding its clock time)."""
        if self.size == 1:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]


def init_world(config: Config) -> World:
    """The World torchrun describes (one process without it). Checks that the global batch splits
    evenly before joining the process group, so a bad config fails at once on every rank."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    world = World(int(os.environ.get("RANK", "0")), size, int(os.environ.get("LOCAL_RANK", "0")))
    if config.batch_size % size:
        raise ConfigError(f"batch_size: {config.batch_size} does not split evenly over {size} processes "
                          f"(WORLD_SIZE); choose a multiple of {size}")
    if size > 1 and not dist.is_initialized():
        cuda = config.device == "cuda" or (config.device == "auto" and torch.cuda.is_available())
        if cuda:
            torch.cuda.set_device(world.local_rank)
        dist.init_process_group("nccl" if cuda else "gloo")
    return world


def close_world(world: World) -> None:
    if world.size > 1 and dist.is_initialized():
        dist.destroy_process_group()
