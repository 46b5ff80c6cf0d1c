"""config.augment in the training step: D sees augmented real and fake images in its update and
in G's, G's gradients pass through the augmentation, and the draws come from their own stream."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from counterfeit.config import resolve
from counterfeit.train.state import TrainState, build_state
from counterfeit.train.step import AutogradStep, make_step


class Recorder(nn.Module):
    """D as it was, keeping a copy of every batch of images it is shown."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner, self.seen = inner, []

    def forward(self, images: Tensor) -> Tensor:
        self.seen.append(images.detach().clone())
        return self.inner(images)


def augmented_state(augment: str, **overrides: str) -> TrainState:
    # tiny: an MLP G with a sigmoid output, which never gives an exact 0: every 0 D sees is a cutout
    return build_state(resolve(preset="tiny", overrides={"augment": augment, "batch_size": "16", **overrides}))


def one_zero_square(images: Tensor) -> bool:
    """Each image's exact zeros form exactly one 14 x 14 square."""
    for image in images[:, 0]:
        zeros = (image == 0).nonzero()
        low, high = zeros.min(0).values, zeros.max(0).values
        if len(zeros) != 14 * 14 or (high - low).tolist() != [13, 13]:
            return False
    return True


def test_d_sees_real_and_fake_images_cut_out_in_both_updates() -> None:
    s = augmented_state("cutout")
    s.discriminator = Recorder(s.discriminator)
    real = torch.ones(16, 1, 28, 28)
    make_step(s)(real)
    d_real, d_fake, g_fake = s.discriminator.seen  # D's update: real, then fake; then G's update
    assert all(one_zero_square(images) for images in (d_real, d_fake, g_fake))
    assert set(d_real.unique().tolist()) == {0.0, 1.0}  # the real batch, with its squares cut out
    corners = {tuple((image == 0).nonzero().min(0).values.tolist()) for image in d_real[:, 0]}
    assert len(corners) > 1  # each image its own square


def test_without_augment_d_sees_the_batch_itself() -> None:
    s = build_state(resolve(preset="tiny", overrides={"batch_size": "16"}))
    assert s.augment_rng is None
    s.discriminator = Recorder(s.discriminator)
    real = torch.ones(16, 1, 28, 28)
    AutogradStep(s)(real)
    assert torch.equal(s.discriminator.seen[0], real)


def test_hand_written_mlp_step_declines_augmentation() -> None:
    assert isinstance(make_step(augmented_state("translation")), AutogradStep)


def test_gradients_reach_g_through_the_augmentation() -> None:
    s = augmented_state("translation,cutout")
    images = s.generator(s.noise(16))  # (16, 1, 28, 28)
    logits = s.discriminator(s.augmented(images))
    grads = torch.autograd.grad(logits.sum(), list(s.generator.parameters()))
    assert all(g.abs().sum() > 0 for g in grads)
    before = [p.detach().clone() for p in s.generator.parameters()]
    make_step(s)(torch.rand(16, 1, 28, 28))
    assert all(not torch.equal(a, p) for a, p in zip(before, s.generator.parameters()))


@pytest.mark.parametrize("seed, same", [(0, True), (1, False)])
def test_draws_follow_the_run_seed_and_leave_the_noise_alone(seed: int, same: bool) -> None:
    a, b = augmented_state("translation,cutout"), augmented_state("translation,cutout", seed=str(seed))
    images = torch.rand(16, 1, 28, 28)
    assert torch.equal(a.augmented(images), b.augmented(images)) is same
    plain = build_state(resolve(preset="tiny", overrides={"batch_size": "16"}))
    assert torch.equal(a.noise(16), plain.noise(16))  # augmenting takes nothing from the noise stream
