"""Pictures of G during training, all from one fixed batch of noise so that the frames compare:
a PNG grid every `sample_every` steps, a frame of the progress GIF every `frame_every` steps.

The GIF is written at the end from frames kept in memory; checkpoints carry them (state_dict), so
a resumed run's GIF is the one the run would have made uninterrupted."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from counterfeit.rundir import RunDir
from counterfeit.sampling import render
from counterfeit.sampling.labels import snapshot_inputs
from counterfeit.seeds import Stream, stream_seed
from counterfeit.train.cadence import due
from counterfeit.train.state import TrainState
from counterfeit.viz import image_grid, save_grid, write_gif

GIF_SECONDS = 12.0  # a long run's GIF plays in about this long; frames stay 40..400 ms each
GIF_MAX_FRAMES = 200  # ~30 kB a frame of noisy early digits: longer runs keep every k-th frame


class Snapshots:
    def __init__(self, state: TrainState, run: RunDir) -> None:
        config = state.config
        rng = torch.Generator(state.device).manual_seed(stream_seed(config.seed, Stream.SNAPSHOTS))
        # (grid_size, z_dim); a conditional run's labels and columns make it a class grid
        self.fixed_noise, self.fixed_labels, self.columns = snapshot_inputs(config, state.prior, rng, state.device)
        self.run, self.config = run, config
        self.frames: list[np.ndarray] = []  # uint8 (grid_size, 28, 28) each: small enough to keep
        self.frame_steps: list[int] = []  # the step of each frame

    def take(self, state: TrainState) -> None:
        """At step 0, every sample_every / frame_every steps, and at the last step."""
        config, step = state.config, state.step
        png, frame = due(step, config.sample_every, config.steps), due(step, config.frame_every, config.steps)
        if not (png or frame):
            return
        images = self._images(state)
        if png:
            save_grid(images, self.run.sample_path(step), self.columns)
        if frame:
            self.frames.append(images)
            self.frame_steps.append(step)

    def close(self, state: TrainState) -> None:
        """The last step's grid where its cadence made none: a run that `max_seconds`, `stop_when`
        or `collapse_abort` ended between grids would otherwise show an older G than it saved.
        No GIF frame: the GIF stays the one an uninterrupted run would make."""
        path = self.run.sample_path(state.step)
        if not path.exists():
            save_grid(self._images(state), path, self.columns)

    def _images(self, state: TrainState) -> np.ndarray:
        """G (the EMA's when on) on the fixed noise: uint8 (grid_size, 28, 28), or (grid_size, C, 28, 28)."""
        return render(state.sampling_generator, self.fixed_noise, self.config.pixel_range, self.fixed_labels)

    def state_dict(self) -> dict[str, Tensor]:
        return {"frames": torch.from_numpy(np.stack(self.frames)),  # uint8 (n, grid_size, 28, 28)
                "steps": torch.tensor(self.frame_steps, dtype=torch.int64)}

    def load_state_dict(self, saved: dict[str, Tensor]) -> None:
        """The frames up to a checkpoint, but for the last frame of a finished run that is now
        extended: an uninterrupted run of the new length has no frame there."""
        kept = [i for i, step in enumerate(saved["steps"].tolist())
                if due(step, self.config.frame_every, self.config.steps)]
        self.frames = [saved["frames"][i].numpy().copy() for i in kept]
        self.frame_steps = [int(saved["steps"][i]) for i in kept]

    def write_gif(self, path: Path) -> None:
        stride = math.ceil(len(self.frames) / GIF_MAX_FRAMES)
        frames = self.frames[::stride] + ([self.frames[-1]] if (len(self.frames) - 1) % stride else [])
        frame_ms = int(min(400, max(40, 1000 * GIF_SECONDS / len(frames))))
        write_gif([image_grid(images, self.columns, scale=2) for images in frames], path, frame_ms=frame_ms)

