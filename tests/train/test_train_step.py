from __future__ import annotations

import torch

from counterfeit.config import resolve
from counterfeit.train.state import build_state
from counterfeit.train.step import gan_step


def textbook_step(real: torch.Tensor, s) -> None:
    """The step as the tutorials write it: two D forwards, backward through everything."""
    n = real.shape[0]
    fake = s.generator(s.prior.sample(n, s.noise_rng))
    d_loss = s.loss.discriminator(s.discriminator(real), s.discriminator(fake.detach()))
    s.d_opt.zero_grad()
    d_loss.backward()
    s.d_opt.step()
    g_loss = s.loss.generator(s.discriminator(s.generator(s.prior.sample(n, s.noise_rng))))
    s.g_opt.zero_grad()
    g_loss.backward()
    s.g_opt.step()


def _weights(s) -> list[torch.Tensor]:
    return [p.detach().clone() for p in [*s.generator.parameters(), *s.discriminator.parameters()]]


def test_fast_step_equals_textbook_step() -> None:
    config = resolve(preset="mlp2", overrides={"batch_size": "64"})
    fast, slow = build_state(config), build_state(config)
    for opt in (slow.d_opt, slow.g_opt):  # the textbook uses plain per-parameter Adam
        for group in opt.param_groups:
            group["fused"], group["foreach"] = False, False
    data = torch.rand(5, 64, 1, 28, 28, generator=torch.Generator().manual_seed(9))
    for real in data:
        gan_step(real, fast)
        textbook_step(real, slow)
    for a, b in zip(_weights(fast), _weights(slow)):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    assert fast.step == 5


def test_step_moves_both_networks_and_only_by_their_own_losses() -> None:
    s = build_state(resolve(preset="tiny"))
    g0, d0 = [p.clone() for p in s.generator.parameters()], [p.clone() for p in s.discriminator.parameters()]
    out = gan_step(torch.rand(32, 1, 28, 28), s)
    assert any(not torch.equal(a, b) for a, b in zip(g0, s.generator.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(d0, s.discriminator.parameters()))
    assert out.d_real_logits.shape == (32,) and out.d_fake_logits.shape == (32,)
    assert torch.isfinite(out.d_loss) and torch.isfinite(out.g_loss)
