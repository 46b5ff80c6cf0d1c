"""One process or N under `torchrun`: the same loop, told by the environment which rank it is.

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK. The global batch stays the config's: each rank
takes its slice of the same real batch and of the same noise draw, computes mean losses over its
slice, and the ranks average their gradients, so the update is that of one process on the whole
batch (up to float rounding). Rank 0 alone writes the run directory.

What crosses between processes is tensors only: a checkpoint or a message travels as its raw bytes
in a uint8 tensor, so nothing is pickled (broadcast_object_list would pickle).

Gradients are averaged by one explicit all-reduce per update rather than by wrapping the modules in
DistributedDataParallel: DDP's all-reduce hooks fire on `.backward()`, which our step never calls
(the fully connected nets' backward passes are written out, train/fast/mlp_step.py; the others take
each net's gradients with `torch.autograd.grad`), so G's update computes no gradients for D's
weights; one flat all-reduce per update is what DDP's single bucket does for models this small.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Any, Iterator

import torch
import torch.distributed as dist
from torch import Tensor, nn

from counterfeit.config import Config
from counterfeit.errors import ConfigError
from counterfeit.train.device import resolve_device


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

    def shard_each(self, batches: list[Tensor]) -> Tensor:
        """This rank's rows of each global batch, back to back; one batch as it is (cat would copy
        the whole batch every step)."""
        parts = [self.shard(batch) for batch in batches]
        return parts[0] if len(parts) == 1 else torch.cat(parts)

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

    def gather(self, tensor: Tensor) -> list[Tensor]:
        """Every rank's `tensor` (of one shape on all ranks), by rank, on every rank."""
        if self.size == 1:
            return [tensor]
        parts = [torch.empty_like(tensor) for _ in range(self.size)]
        dist.all_gather(parts, tensor)
        return parts

    def from_main(self, data: bytes) -> bytes:
        """Rank 0's `data` on every rank (the others' `data` is ignored): a CPU uint8 tensor."""
        if self.size == 1:
            return data
        length = torch.tensor([len(data)], dtype=torch.int64)
        dist.broadcast(length, src=0)
        if not length.item():
            return b""
        buffer = (torch.frombuffer(bytearray(data), dtype=torch.uint8) if self.is_main
                  else torch.empty(int(length.item()), dtype=torch.uint8))
        dist.broadcast(buffer, src=0)
        return buffer.numpy().tobytes()


class Agreement:
    """The largest of the ranks' values of a per-step number (a stop signal), which every rank then
    acts on at the same step. Under torchrun it comes one step late: each call starts an all-reduce
    of this step's value and returns the previous step's result, long arrived, so that no step
    waits on the slowest rank just to learn that nobody was signalled (a blocking all-reduce of one
    number cost ~0.4 ms a step on the 2-core machine: 5-20% of a small model's step)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.box = torch.zeros(1, dtype=torch.int64)
        self.work: Any = None

    def __call__(self, value: int) -> int:
        if self.world.size == 1:
            return value
        previous = self.finish()
        self.box = torch.tensor([value], dtype=torch.int64)
        self.work = dist.all_reduce(self.box, op=dist.ReduceOp.MAX, async_op=True)
        return previous

    def finish(self) -> int:
        """The result of the all-reduce under way (0 when none is), waited for."""
        if self.work is None:
            return 0
        self.work.wait()
        self.work = None
        return int(self.box.item())


def world_from_env() -> World:
    """The World torchrun describes in RANK, WORLD_SIZE and LOCAL_RANK (one process without it)."""
    env = os.environ
    return World(int(env.get("RANK", "0")), int(env.get("WORLD_SIZE", "1")), int(env.get("LOCAL_RANK", "0")))


def init_world(config: Config) -> World:
    """The World torchrun describes, joined. Checks that the global batch splits evenly before
    joining the process group, so a bad config fails at once on every rank."""
    world = world_from_env()
    check_split(config, world.size)
    use_device(world, config)
    join(world)
    return world


def check_split(config: Config, size: int) -> None:
    if config.batch_size % size:
        raise ConfigError(f"batch_size: {config.batch_size} does not split evenly over {size} processes "
                          f"(WORLD_SIZE); choose a multiple of {size}")
    rows = config.batch_size // size
    if config.d_mbstd and rows % config.d_mbstd_group:  # each process groups its own rows
        raise ConfigError(f"batch_size: {config.batch_size} gives each of {size} processes {rows} rows, not a "
                          f"multiple of d_mbstd_group {config.d_mbstd_group}")


def use_device(world: World, config: Config) -> None:
    """This process's own GPU when the run is on CUDA: set before the first CUDA collective."""
    device = resolve_device(config.device, world.local_rank)
    if world.size > 1 and device.type == "cuda":
        torch.cuda.set_device(device)


def join(world: World) -> None:
    """Join torchrun's process group: gloo for CPU tensors (the bytes and flags sent above) and,
    where torch sees a GPU, nccl for CUDA tensors (gradients of a run on CUDA). A resume joins
    before it knows the run's device (only rank 0 reads the run directory), so both are set up."""
    if world.size > 1 and not dist.is_initialized():
        dist.init_process_group("cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo")


@contextlib.contextmanager
def leaving_together(world: World) -> Iterator[None]:
    """The rest of a run in the process group, then out of it. A normal end waits for every rank
    (a barrier: a rank that tore down its gloo threads while rank 0 still wrote the run's last
    files aborted, "terminate called without an active exception", in about one run in eight); an
    error leaves at once (the other ranks may never arrive), and leaving at all matters: a
    process that exits still in the group can abort on the way out instead of exiting with 2."""
    try:
        yield
    except BaseException:
        if world.size > 1 and dist.is_initialized():
            dist.destroy_process_group()
        raise
    if world.size > 1 and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
