from __future__ import annotations

import pytest
import torch

from counterfeit.bench.textbook import textbook_state, textbook_step
from counterfeit.config import resolve
from counterfeit.train.state import build_state
from counterfeit.train.fast import MLPStep
from counterfeit.train.step import AutogradStep, make_step


def _weights(s) -> list[torch.Tensor]:
    return [p.detach().clone() for p in [*s.generator.parameters(), *s.discriminator.parameters()]]


MLP4_LIKE = {"z_dim": "20", "g_hidden": "24,32,40", "d_hidden": "40,32,24", "activation": "leaky_relu",
             "g_output": "tanh", "d_dropout": "0.3", "batch_size": "64"}


@pytest.mark.parametrize("overrides", [{"batch_size": "64"}, MLP4_LIKE, {"batch_size": "64", "channels": "3"}],
                         ids=["mlp2", "mlp4-like", "mlp2, 3 channels (stacked-mnist)"])
def test_fast_step_equals_textbook_step(overrides: dict[str, str]) -> None:
    """Same updates in the same order, same noise and (with dropout) the same masks."""
    config = resolve(preset="mlp2", overrides=overrides)
    fast, slow = build_state(config), textbook_state(config)
    fast_step = make_step(fast)
    assert isinstance(fast_step, MLPStep)
    fast_step.g.exact_dropout = fast_step.d.exact_dropout = True  # nn.Dropout's own draws, as the textbook's
    data = torch.rand(5, 64, config.channels, 28, 28, generator=torch.Generator().manual_seed(9))
    for step in (fast_step, lambda real: textbook_step(real, slow)):
        torch.manual_seed(1)  # dropout draws from the global RNG: each run gets the same stream
        for real in data:
            step(real)
    for a, b in zip(_weights(fast), _weights(slow)):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    assert fast.step == slow.step == 5


def test_step_moves_both_networks_and_only_by_their_own_losses() -> None:
    s = build_state(resolve(preset="tiny"))
    g0, d0 = [p.clone() for p in s.generator.parameters()], [p.clone() for p in s.discriminator.parameters()]
    out = make_step(s)(torch.rand(32, 1, 28, 28))
    assert any(not torch.equal(a, b) for a, b in zip(g0, s.generator.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(d0, s.discriminator.parameters()))
    assert out.d_real_logits.shape == (32,) and out.d_fake_logits.shape == (32,)
    assert torch.isfinite(out.d_loss) and torch.isfinite(out.g_loss)


def test_bf16_autocast_step_trains_on_cpu_with_float32_weights() -> None:
    """bf16 autocast also runs on CPU: products in bfloat16, weights and Adam in float32."""
    s = build_state(resolve(preset="tiny", overrides={"precision": "bf16"}))
    before = [p.clone() for p in s.generator.parameters()]
    out = make_step(s)(torch.rand(32, 1, 28, 28))
    assert torch.isfinite(out.d_loss) and torch.isfinite(out.g_loss)
    assert all(p.dtype == torch.float32 for p in s.generator.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, s.generator.parameters()))
