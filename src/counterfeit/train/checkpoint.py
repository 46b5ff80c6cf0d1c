"""Checkpoints: one safetensors file per save, holding everything a run needs to go on exactly.

    checkpoints/step_NNNNNN.safetensors
      tensors   every module of the TrainState (generator/..., discriminator/..., ema/... if on: the
                average with the batch-norm statistics recomputed for it),
                the extras the loop passes (snapshots/frames: the progress-GIF frames so far),
                every optimiser's state tensors (g_opt/state/<param>/<key>), every torch RNG of
                the state (noise_rng; augment_rng when augment is on), torch's global RNG
                (rng/torch[, rng/cuda]; under torchrun also each rank r > 0's:
                ranks/r/rng/torch[, ranks/r/rng/cuda]), numpy's
                (rng/numpy), the sampler's RNG and permutation (sampler/rng, sampler/permutation)
      metadata  JSON strings: format, step, seconds, the resolved config as TOML and its sha256,
                the sha256 of every tensor's bytes (checked on reading: damage is an unreadable file),
                the number of processes that trained it, the sampler's position and epoch,
                optimiser param groups and scalars, and Python's `random` state

safetensors is raw tensors behind a JSON header: reading one runs no code, so there is no pickle
here and no `torch.load`. Files are written atomically and the directory is fsynced, so a crash
leaves either the old set of checkpoints or the old set plus the new file, never half a file.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as safetensors_load
from safetensors.torch import save as safetensors_save

from counterfeit.config import to_toml
from counterfeit.data.sampler import InMemorySampler
from counterfeit.errors import UserError
from counterfeit.fileio import atomic_open, fsync_directory
from counterfeit.rundir import CHECKPOINT_DIR, CHECKPOINT_NAME
from counterfeit.train.state import TrainState

FORMAT = "counterfeit-checkpoint-1"


class CheckpointError(UserError):
    """A checkpoint that cannot be written, read or used; the message names the file."""


@dataclass(frozen=True)
class Checkpoint:
    path: Path
    step: int
    seconds: float
    config_toml: str
    tensors: dict[str, torch.Tensor]
    meta: dict[str, Any]


def checkpoint_path(run_path: Path, step: int) -> Path:
    return run_path / CHECKPOINT_DIR / f"step_{step:06d}.safetensors"


def step_of(path: Path) -> int:
    match = CHECKPOINT_NAME.match(path.name)
    return int(match.group(1)) if match else -1


def list_checkpoints(run_path: Path) -> list[Path]:
    """The run's checkpoint files, oldest step first (temp files and other names are ignored)."""
    folder = run_path / CHECKPOINT_DIR
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if CHECKPOINT_NAME.match(p.name)), key=step_of)


# -- saving ----------------------------------------------------------------------------------


def rng_states(state: TrainState) -> dict[str, torch.Tensor]:
    """The RNGs each process has its own of, from every process, by name: torch's global RNG
    (dropout masks; ranks > 0 reseed it, see build_state) and CUDA's. Every process must call this
    at the same step (a collective under torchrun). Everything else is alike on every rank: the
    weights and Adam states (averaged gradients), the noise and sampler RNGs (each rank slices the
    same global draw), numpy's and Python's RNGs (seeded alike, and nothing in training draws)."""
    own = {"rng/torch": torch.get_rng_state()}
    if state.device.type == "cuda":
        own["rng/cuda"] = torch.cuda.get_rng_state(state.device)
    return {_rank_key(rank, name): tensor for name, tensor in own.items()
            for rank, tensor in enumerate(state.world.gather(tensor))}


def _rank_key(rank: int, name: str) -> str:
    """Rank 0's RNGs keep one process's names, so 1-process checkpoints are as they always were."""
    return name if rank == 0 else f"ranks/{rank}/{name}"


def save_checkpoint(run_path: Path, state: TrainState, sampler: InMemorySampler, seconds: float,
                    keep: int, rngs: Mapping[str, torch.Tensor], extras: Mapping[str, Any] | None = None) -> Path:
    """Write step_NNNNNN.safetensors atomically, then remove all but the newest `keep`. `rngs`:
    rng_states(state), which every process computes; `extras`: more state by name, each with
    state_dict() -> named tensors and load_state_dict."""
    path = checkpoint_path(run_path, state.step)
    tensors, meta = _collect(state, sampler, seconds, rngs, extras or {})
    data = safetensors_save(tensors, metadata={k: json.dumps(v) for k, v in meta.items()})
    previous = list_checkpoints(run_path)
    try:
        path.parent.mkdir(exist_ok=True)
        with atomic_open(path, "wb") as handle:
            handle.write(data)
        fsync_directory(path.parent)
    except OSError as err:
        kept = f"the last checkpoint {previous[-1].name} is intact" if previous else "no earlier checkpoint"
        raise CheckpointError(f"{path}: cannot write checkpoint ({err.strerror or err}); {kept}") from None
    # Only now, with the new one complete and on disk. Files of later steps are left from before
    # a resume (damaged, or the resume would have used them): they do not count as newer.
    done = [p for p in list_checkpoints(run_path) if step_of(p) <= state.step]
    for old in done[:-keep]:
        old.unlink(missing_ok=True)
    return path


def _collect(state: TrainState, sampler: InMemorySampler, seconds: float, rngs: Mapping[str, torch.Tensor],
             extras: Mapping[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors: dict[str, torch.Tensor] = {}
    optimisers: dict[str, Any] = {}
    for name, value in [*_parts(state), *extras.items()]:
        if isinstance(value, torch.optim.Optimizer):
            optimisers[name] = _flatten_optimizer(name, value.state_dict(), tensors)
        elif isinstance(value, torch.Generator):
            tensors[name] = value.get_state()
        else:  # a module, or anything whose state_dict is named tensors (an EMA of G's weights)
            tensors.update({f"{name}/{k}": v for k, v in value.state_dict().items()})
    tensors.update(rngs)
    sampler_state = sampler.state_dict()
    tensors["sampler/rng"], tensors["sampler/permutation"] = sampler_state["rng"], sampler_state["permutation"]
    np_kind, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    tensors["rng/numpy"] = torch.from_numpy(np_keys.astype(np.int64))
    version, py_state, py_gauss = random.getstate()
    config = to_toml(state.config)
    meta = {
        "format": FORMAT,
        "step": state.step,
        "seconds": seconds,
        "config": config,
        "config_sha256": hashlib.sha256(config.encode()).hexdigest(),
        "processes": state.world.size,
        "device": state.device.type,
        "sampler": {"position": sampler_state["position"], "epoch": sampler_state["epoch"]},
        "optimizers": optimisers,
        "numpy_random": [np_kind, int(np_pos), int(np_has_gauss), float(np_gauss)],
        "python_random": [version, list(py_state), py_gauss],
    }
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    meta["tensors_sha256"] = tensors_sha256(tensors)
    return tensors, meta


def tensors_sha256(tensors: Mapping[str, torch.Tensor]) -> str:
    """One hash of every tensor's name, dtype, shape and bytes. safetensors checks a file's header
    and each tensor's extent, not its bytes: a damaged RNG state or sampler permutation would be
    read, then fail mid-run, and damaged weights would train on without a word."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        tensor = tensors[name]
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)};".encode())
        digest.update(tensor.contiguous().reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def _parts(state: TrainState) -> list[tuple[str, Any]]:
    """The state's fields that hold state, by name: modules, optimisers, RNGs, and anything with
    `load_state_dict` (an EMA of G, say), so a field added later is saved without editing this."""
    values = [(f.name, getattr(state, f.name)) for f in fields(state)]
    return [(name, value) for name, value in values
            if isinstance(value, torch.Generator) or hasattr(value, "load_state_dict")]


def _flatten_optimizer(name: str, state_dict: dict[str, Any], tensors: dict[str, torch.Tensor]) -> dict:
    """Tensors of the optimiser state go to `tensors`; the rest (param groups, ints) stays JSON."""
    scalars: dict[str, dict[str, Any]] = {}
    for index, entry in state_dict["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{name}/state/{index}/{key}"] = value
            else:
                scalars.setdefault(str(index), {})[key] = value
    return {"param_groups": state_dict["param_groups"], "scalars": scalars,
            "params_with_state": sorted({str(i) for i in state_dict["state"]})}


# -- loading ---------------------------------------------------------------------------------


def read_checkpoint(path: Path) -> Checkpoint:
    """Read, parse and check one file; any problem is a CheckpointError naming it."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise CheckpointError(f"{path}: not a readable checkpoint ({_reason(err)})") from None
    return parse_checkpoint(path, data)


def parse_checkpoint(path: Path, data: bytes) -> Checkpoint:
    """Parse and check the bytes of checkpoint file `path` (read here, or sent by rank 0)."""
    try:
        tensors = safetensors_load(data)  # checks the header and every tensor's extent
        header = json.loads(data[8 : 8 + int.from_bytes(data[:8], "little")])
        meta = {k: json.loads(v) for k, v in header.get("__metadata__", {}).items()}
    except (SafetensorError, ValueError) as err:
        raise CheckpointError(f"{path}: not a readable checkpoint ({_reason(err)})") from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a counterfeit checkpoint (format {meta.get('format')!r})")
    if "tensors_sha256" in meta and tensors_sha256(tensors) != meta["tensors_sha256"]:  # absent: written before 2026-11-30
        raise CheckpointError(f"{path}: not a readable checkpoint (its tensors' bytes do not match their sha256: damaged)")
    config = meta.get("config", "")
    if hashlib.sha256(config.encode()).hexdigest() != meta.get("config_sha256"):
        raise CheckpointError(f"{path}: config hash does not match its config")
    if step_of(path) != meta.get("step"):
        raise CheckpointError(f"{path}: file name does not match its step {meta.get('step')}")
    return Checkpoint(path, int(meta["step"]), float(meta["seconds"]), config, tensors, meta)


def device_of(checkpoint: Checkpoint) -> str:
    """The kind of device that wrote it, "cpu" or "cuda" (checkpoints from before this was
    recorded: taken as the CPU's, the only device they were written on)."""
    return str(checkpoint.meta.get("device", "cpu"))


def processes_of(checkpoint: Checkpoint) -> int:
    """How many processes wrote it (checkpoints from before this was recorded: taken as one)."""
    return int(checkpoint.meta.get("processes", 1))


def latest_checkpoint(run_path: Path) -> Checkpoint | None:
    """The newest readable checkpoint, warning on stderr about each damaged newer one. Those are
    left in place: saving at their step replaces them, and pruning only counts older steps."""
    for path in reversed(list_checkpoints(run_path)):
        try:
            return read_checkpoint(path)
        except CheckpointError as err:
            print(f"counterfeit: warning: {err}; trying an earlier checkpoint", file=sys.stderr)
    return None


def restore(checkpoint: Checkpoint, state: TrainState, sampler: InMemorySampler,
            extras: Mapping[str, Any] | None = None) -> None:
    """Put every saved tensor and RNG state back (and the extras' state, as save_checkpoint's);
    the state was built from the same config."""
    tensors, meta = checkpoint.tensors, checkpoint.meta
    try:
        for name, value in [*_parts(state), *(extras or {}).items()]:
            if isinstance(value, torch.optim.Optimizer):
                value.load_state_dict(_unflatten_optimizer(name, meta["optimizers"][name], tensors))
            elif isinstance(value, torch.Generator):
                value.set_state(tensors[name])
            else:
                prefix = f"{name}/"
                value.load_state_dict({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)})
        rank = state.world.rank  # each process takes back its own
        torch.set_rng_state(tensors[_rank_key(rank, "rng/torch")])
        if state.device.type == "cuda":
            torch.cuda.set_rng_state(tensors[_rank_key(rank, "rng/cuda")], state.device)
        sampler.load_state_dict({"rng": tensors["sampler/rng"], "permutation": tensors["sampler/permutation"],
                                 **meta["sampler"]})
        np_kind, np_pos, np_has_gauss, np_gauss = meta["numpy_random"]
        np.random.set_state((np_kind, tensors["rng/numpy"].numpy().astype(np.uint32), np_pos,
                             np_has_gauss, np_gauss))
        version, py_state, py_gauss = meta["python_random"]
        random.setstate((version, tuple(py_state), py_gauss))
    except (KeyError, RuntimeError, ValueError, TypeError) as err:
        raise CheckpointError(f"{checkpoint.path}: does not fit this run's models ({_reason(err)})") from None
    state.step = checkpoint.step
    state.schedule_learning_rates()


def _reason(err: Exception) -> str:
    """The first line of an exception's message (its type when it has none)."""
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


def _unflatten_optimizer(name: str, saved: dict[str, Any], tensors: dict[str, torch.Tensor]) -> dict:
    state: dict[int, dict[str, Any]] = {}
    for index in saved["params_with_state"]:
        prefix = f"{name}/state/{index}/"
        entry = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        state[int(index)] = {**entry, **saved["scalars"].get(index, {})}
    # JSON turned tuples (betas) into lists; Adam reads them either way, but keep torch's types.
    groups = [{k: tuple(v) if isinstance(v, list) and k != "params" else v for k, v in g.items()}
              for g in saved["param_groups"]]
    return {"state": state, "param_groups": groups}
