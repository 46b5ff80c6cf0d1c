"""counterfeit: train, watch and judge GANs on MNIST-like images.

    >>> import counterfeit
    >>> run_dir = counterfeit.train(preset="mlp2", steps=2000)
    >>> generator, config = counterfeit.load_generator(run_dir)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import counterfeit.train  # noqa: F401  (first: see below)
from counterfeit._version import __version__
from counterfeit.config import Config, preset_names, resolve
from counterfeit.errors import ConfigError, DataError, UserError
from counterfeit.sampling import generate, load_generator


# The subpackage counterfeit.train was imported above, before this function of the same name is
# defined: importing a submodule for the first time binds it as an attribute of its parent, and
# would otherwise replace `counterfeit.train` the function with `counterfeit.train` the package.
def train(preset: str | None = None, config: Config | None = None, out: str | Path | None = None,
          quiet: bool = True, **overrides: Any) -> Path:
    """Train from a preset (default mlp2) or a Config, with keyword overrides; returns the run dir."""
    from counterfeit.config import steps_turn_off_epochs
    from counterfeit.train.loop import train as run_training

    if config is None:
        config = resolve(preset=preset, overrides=overrides)
    elif preset is not None and preset != config.preset:  # whose values: the preset's or the config's?
        raise ConfigError(f"preset={preset!r} and a config of preset {config.preset!r}: give one of them")
    elif overrides:
        config = config.replace(**steps_turn_off_epochs(overrides))
    return run_training(config, out=out, quiet=quiet)


def resume(run_dir: str | Path, steps: int | None = None, quiet: bool = True) -> Path:
    """Continue a run from its latest checkpoint; `steps` extends (or sets) its length."""
    from counterfeit.train.loop import resume as resume_training

    return resume_training(run_dir, {"steps": steps} if steps is not None else None, quiet=quiet)


__all__ = [
    "Config", "ConfigError", "DataError", "UserError", "__version__", "generate", "load_generator",
    "preset_names", "resolve", "resume", "train",
]
