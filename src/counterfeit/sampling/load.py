"""A trained generator from its run directory."""

from __future__ import annotations

from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from counterfeit.config import Config
from counterfeit.errors import UserError
from counterfeit.models import build_generator
from counterfeit.rundir import CONFIG_FILE, GENERATOR_FILE, load_run_config


def load_generator(run_dir: str | Path) -> tuple[nn.Module, Config]:
    """The run's final generator, in eval mode on the CPU, and the config it was trained with."""
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG_FILE).is_file():
        raise UserError(f"{run_dir}: not a run directory (no {CONFIG_FILE})")
    config = load_run_config(run_dir)
    weights = run_dir / GENERATOR_FILE
    if not weights.is_file():
        raise UserError(f"{weights}: missing (written when training ends: the run has not finished, or the file was removed)")
    generator = build_generator(config)
    try:
        generator.load_state_dict(load_file(weights))
    except (SafetensorError, RuntimeError, OSError) as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UserError(f"{weights}: cannot load generator weights ({first_line})") from None
    return generator.eval(), config
