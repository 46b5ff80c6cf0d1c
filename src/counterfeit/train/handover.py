"""Resuming under torchrun: rank 0 reads the run directory and hands the outcome to the others.

Only rank 0 needs the run directory on its filesystem (the other ranks may be on other machines).
It checks everything and rewinds the run under its lock, as one process does, then sends the
outcome as bytes (see World.from_main; nothing is pickled): a JSON header holding the resolved
config and the metrics records that the collapse monitor replays, then the checkpoint file itself,
which each rank parses and restores from, taking its own RNG states. A bad resume sends rank 0's
one-line error in place of the header, so every rank fails with it (exit 2) instead of waiting in
a collective that rank 0 never joins.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from counterfeit.config import Config, from_mapping, to_toml
from counterfeit.data.dataset import Dataset
from counterfeit.errors import UserError
from counterfeit.train.watch import TrainingWatch
from counterfeit.train.checkpoint import Checkpoint, parse_checkpoint
from counterfeit.train.distributed import World


@dataclass(frozen=True)
class Resumption:
    """Where a resume starts: the config, the checkpoint (None: from step 0) and the metrics
    records up to it. Rank 0 also keeps the data and watch it loaded while checking."""

    config: Config
    checkpoint: Checkpoint | None
    records: list[dict[str, Any]] = field(default_factory=list)
    dataset: Dataset | None = None
    watch: TrainingWatch | None = None


def hand_over(world: World, prepare: Callable[[], Resumption]) -> Resumption:
    """On rank 0 (or alone): `prepare()`, sent to the other ranks; on the others: what rank 0 sent.
    A UserError in `prepare` is raised on every rank, with its message and exit code."""
    if world.size == 1:
        return prepare()
    if world.is_main:
        try:
            resumption = prepare()
        except UserError as err:
            world.from_main(json.dumps({"error": str(err), "exit_code": err.exit_code}).encode())
            raise
        checkpoint = resumption.checkpoint
        world.from_main(json.dumps({"config": to_toml(resumption.config), "records": resumption.records,
                                    "checkpoint": str(checkpoint.path) if checkpoint else None}).encode())
        if checkpoint is not None:
            world.from_main(checkpoint.path.read_bytes())  # under rank 0's run lock: as it was read
        return resumption
    header = json.loads(world.from_main(b""))
    if "error" in header:
        error = UserError(header["error"])
        error.exit_code = header["exit_code"]
        raise error
    config = from_mapping(tomllib.loads(header["config"]), "rank 0's config")
    path = header["checkpoint"]
    checkpoint = parse_checkpoint(Path(path), world.from_main(b"")) if path is not None else None
    return Resumption(config, checkpoint, header["records"])
