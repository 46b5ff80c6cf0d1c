"""The hand-written MLP step's one rule: it takes plain fully connected nets only, and declines every
D it could not reproduce exactly (the autograd step trains those)."""

from __future__ import annotations

import pytest

from counterfeit.config import resolve
from counterfeit.train.fast import MLPStep
from counterfeit.train.state import build_state


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_plain_mlps_take_the_written_out_step(precision: str) -> None:
    state = build_state(resolve(preset="tiny", overrides={"precision": precision}))
    assert isinstance(MLPStep.build(state), MLPStep)


@pytest.mark.parametrize("overrides", [
    {"d_norm": "spectral"},  # weights W / sigma(W), not the parameters
    {"d_mbstd": "true"},  # a layer that mixes rows
    {"r1_gamma": "1", "r1_every": "3"},  # D's second derivatives, if only on some updates
    {"loss": "wgan-gp"},
    {"model": "dcgan", "g_hidden": "8,4", "d_hidden": "4,8", "init": "dcgan-normal"},
], ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
def test_anything_else_is_declined(overrides: dict[str, str]) -> None:
    assert MLPStep.build(build_state(resolve(preset="tiny", overrides=overrides))) is None
