"""A stop signal that arrives outside training, in a process that defers them (an experiment's
worker), stops the next training at its first step, with a checkpoint, and only that one."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from counterfeit.config import resolve
from counterfeit.train.checkpoint import list_checkpoints
from counterfeit.train.interrupt import SIGNALS, TrainingStopped, defer_signals
from counterfeit.train.loop import train


def test_a_deferred_signal_stops_the_next_training_at_its_first_step(tmp_path: Path) -> None:
    previous = {sig: signal.getsignal(sig) for sig in SIGNALS}
    try:
        defer_signals()
        os.kill(os.getpid(), signal.SIGTERM)  # e.g. while the worker evaluated the last run: kept
        config = resolve(preset="tiny", overrides={"steps": 50, "checkpoint_every": 1000})
        with pytest.raises(TrainingStopped, match="stopped at step 1;") as stopped:
            train(config, out=tmp_path / "first", quiet=True)
        assert stopped.value.exit_code == 128 + signal.SIGTERM
        assert [c.name for c in list_checkpoints(tmp_path / "first")] == ["step_000001.safetensors"]
        train(config, out=tmp_path / "second", quiet=True)  # the signal stopped one training only
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
