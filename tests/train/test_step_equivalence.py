"""The autograd step (`train/step.py`) against Algorithm 1 as the tutorials write it: `backward()`
through everything, `zero_grad`, plain `torch.optim.Adam`, on the same real batches and the same
noise from the same RNG. Only float rounding may differ (fused Adam, gradients taken for one
network's parameters only, our channels-last conv weights against the reference's NCHW ones)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

from counterfeit.config import Config, resolve
from counterfeit.train.state import TrainState, build_state
from counterfeit.train.fast.mlp_step import MLPStep
from counterfeit.train.step import AutogradStep, make_step

STEPS = 4
BATCH = 8
CASES = {
    "dcgan": ("dcgan", {"g_hidden": "8,4", "d_hidden": "4,8", "z_dim": "8"}),
    "cdcgan": ("cdcgan", {"g_hidden": "8,4", "d_hidden": "4,8", "z_dim": "8", "aux_weight": "1"}),
    # cmlp with dropout in D (its masks must be drawn in the textbook's order), and two D
    # updates per step: each on its own labelled batch, G on the last one's labels
    "cgan-ac": ("cgan", {"g_hidden": "16,24", "d_hidden": "24,16", "z_dim": "8", "aux_weight": "0.7",
                         "n_critic": "2"}),
    "wgan-gp": ("mlp2", {"g_hidden": "16", "d_hidden": "16", "z_dim": "8", "loss": "wgan-gp",
                         "n_critic": "3", "gp_weight": "10", "betas": "0,0.9"}),
}


def split_logits(out: Tensor) -> tuple[Tensor, Tensor | None]:
    """D's real/fake logits and, with an AC-GAN head, its class logits (column 0, then the rest)."""
    return (out, None) if out.ndim == 1 else (out[:, 0], out[:, 1:])


def reference_step(s: TrainState, d_opt: torch.optim.Adam, g_opt: torch.optim.Adam, reals: list[Tensor],
                   labels: list[Tensor | None]) -> tuple[float, float]:
    """n_critic D updates, then one G update, written out; returns the last D loss and the G loss."""
    c = s.config
    wasserstein = c.loss == "wgan-gp"

    def G(z: Tensor, y: Tensor | None) -> Tensor:
        return s.generator(z) if y is None else s.generator(z, y)

    def D(x: Tensor, y: Tensor | None) -> Tensor:
        return s.discriminator(x) if y is None else s.discriminator(x, y)

    for real, y in zip(reals, labels):
        n = len(real)
        fake = G(s.prior.sample(n, s.noise_rng, s.device), y).detach()
        d_real, real_classes = split_logits(D(real, y))
        d_fake, _ = split_logits(D(fake, y))
        if wasserstein:  # the critic minimises D(G(z)) - D(x) + lambda (|grad D(x_hat)| - 1)^2
            d_loss = d_fake.mean() - d_real.mean()
            e = torch.rand(n, 1, 1, 1, generator=s.noise_rng, device=s.device)  # the penalty draws after the noise
            x_hat = (e * real + (1 - e) * fake).requires_grad_(True)
            (grad,) = torch.autograd.grad(D(x_hat, y).sum(), x_hat, create_graph=True)
            d_loss = d_loss + c.gp_weight * ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
        else:  # -log D(x) - log(1 - D(G(z)))
            d_loss = -F.logsigmoid(d_real).mean() - F.logsigmoid(-d_fake).mean()
        if real_classes is not None:  # AC-GAN: D learns classes from real digits
            d_loss = d_loss + c.aux_weight * F.cross_entropy(real_classes, y)
        d_opt.zero_grad()
        d_loss.backward()
        d_opt.step()

    y = labels[-1]
    g_logits, g_classes = split_logits(D(G(s.prior.sample(len(reals[0]), s.noise_rng, s.device), y), y))
    g_loss = -g_logits.mean() if wasserstein else -F.logsigmoid(g_logits).mean()
    if g_classes is not None:  # G: D should read its fakes as the digit asked for
        g_loss = g_loss + c.aux_weight * F.cross_entropy(g_classes, y)
    g_opt.zero_grad()
    g_loss.backward()
    g_opt.step()
    return d_loss.item(), g_loss.item()


def plain_adam(module: torch.nn.Module, lr: float, config: Config) -> torch.optim.Adam:
    return torch.optim.Adam(module.parameters(), lr=lr, betas=config.betas, eps=config.adam_eps)


@pytest.mark.parametrize("case", list(CASES))
def test_autograd_step_equals_the_textbook_loop(case: str, device: str) -> None:
    preset, overrides = CASES[case]
    # fp32: the textbook loop is float32 (dcgan's and cdcgan's "auto" would be bf16 on a bf16 CPU)
    config = resolve(preset=preset, overrides={**overrides, "batch_size": str(BATCH), "device": device,
                                               "precision": "fp32"})
    ours, theirs = build_state(config), build_state(config)  # same seed: same weights, same noise RNG
    step = make_step(ours)
    assert isinstance(step, AutogradStep)  # not the hand-written MLP step
    # conv weights with more than one channel, where channels-last and NCHW differ in memory
    convs = [p for net in (ours.generator, ours.discriminator) for p in net.parameters()
             if p.ndim == 4 and p.shape[1] > 1]
    assert bool(convs) == (config.model in ("dcgan", "cdcgan"))
    # channels-last on the CPU (oneDNN's faster layout here); as PyTorch makes them on a GPU
    assert all(p.is_contiguous(memory_format=torch.channels_last) != p.is_contiguous() for p in convs)
    assert all(p.is_contiguous() == (device == "cuda") for p in convs)
    for module in (theirs.generator, theirs.discriminator):  # the reference: the tutorials' NCHW weights
        module.to(memory_format=torch.contiguous_format)
    d_opt, g_opt = plain_adam(theirs.discriminator, config.lr_d, config), plain_adam(theirs.generator, config.lr_g, config)

    data = torch.Generator().manual_seed(11)
    rows = config.n_critic * BATCH
    reals = [(torch.rand(rows, 1, 28, 28, generator=data) * 2 - 1).to(device) for _ in range(STEPS)]  # in [-1, 1]
    labels = [torch.randint(0, 10, (rows,), generator=data).to(device) if config.conditional else None
              for _ in range(STEPS)]

    torch.manual_seed(5)  # dropout's masks come from the global RNG: both runs start from one state
    our_losses = [step(real, y) for real, y in zip(reals, labels)]
    torch.manual_seed(5)
    their_losses = [reference_step(theirs, d_opt, g_opt, list(real.chunk(config.n_critic)),
                                   [None] * config.n_critic if y is None else list(y.chunk(config.n_critic)))
                    for real, y in zip(reals, labels)]

    for step, (out, (d_loss, g_loss)) in enumerate(zip(our_losses, their_losses)):
        assert out.d_loss.item() == pytest.approx(d_loss, rel=1e-4, abs=1e-6), step
        assert out.g_loss.item() == pytest.approx(g_loss, rel=1e-4, abs=1e-6), step
    for mine, reference in ((ours.generator, theirs.generator), (ours.discriminator, theirs.discriminator)):
        ours_dict, theirs_dict = mine.state_dict(), reference.state_dict()  # batch norm's statistics too
        assert ours_dict.keys() == theirs_dict.keys()
        for name, tensor in ours_dict.items():
            torch.testing.assert_close(tensor, theirs_dict[name], rtol=1e-4, atol=1e-6, msg=name)
    initial = build_state(config).generator.state_dict()  # the weights both runs started from
    assert any(not torch.equal(initial[k], v) for k, v in ours.generator.state_dict().items())
    assert ours.step == STEPS


def test_mlp_step_with_dropout_and_two_d_updates_equals_the_textbook_loop() -> None:
    """The hand-written MLP step draws a whole step's dropout masks at once (each D update's real
    and fake rows, then G's): with nn.Dropout's own draws, in the order the textbook loop draws them."""
    config = resolve(preset="mlp4", overrides={"g_hidden": "16,24", "d_hidden": "24,16", "z_dim": "8",
                                               "n_critic": "2", "batch_size": str(BATCH)})
    ours, theirs = build_state(config), build_state(config)
    step = make_step(ours)
    assert isinstance(step, MLPStep) and config.d_dropout > 0
    step.d.exact_dropout = True  # nn.Dropout's own draws, as the reference's
    d_opt, g_opt = plain_adam(theirs.discriminator, config.lr_d, config), plain_adam(theirs.generator, config.lr_g, config)
    data = torch.Generator().manual_seed(11)
    reals = [torch.rand(2 * BATCH, 1, 28, 28, generator=data) * 2 - 1 for _ in range(STEPS)]
    torch.manual_seed(5)
    our_losses = [step(real) for real in reals]
    torch.manual_seed(5)
    their_losses = [reference_step(theirs, d_opt, g_opt, list(real.chunk(2)), [None, None]) for real in reals]
    for out, (d_loss, g_loss) in zip(our_losses, their_losses):
        assert (out.d_loss.item(), out.g_loss.item()) == pytest.approx((d_loss, g_loss), rel=1e-4, abs=1e-6)
    for mine, reference in ((ours.generator, theirs.generator), (ours.discriminator, theirs.discriminator)):
        for a, b in zip(mine.parameters(), reference.parameters()):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
