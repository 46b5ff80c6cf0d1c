"""d_norm = spectral: every Linear and Conv2d weight of D has largest singular value 1 (the
projection embedding stays plain), and the power-iteration vectors travel with D's state_dict."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load as safetensors_load
from safetensors.torch import save as safetensors_save
from torch import nn
from torch.nn.utils.parametrize import is_parametrized

from counterfeit.config import resolve
from counterfeit.models import build_discriminator

MODELS = {
    "mlp": {"d_hidden": "64,32"},
    "dcgan": {"model": "dcgan", "g_hidden": "8,4", "d_hidden": "4,8", "init": "dcgan-normal"},
    "cmlp, AC-GAN head": {"model": "cmlp", "aux_weight": "1"},
    "cdcgan (projection), AC-GAN head": {"model": "cdcgan", "g_hidden": "8,4", "d_hidden": "4,8",
                                         "init": "dcgan-normal", "aux_weight": "1"},
}


def spectral_d(overrides: dict[str, str]) -> tuple[nn.Module, bool]:
    config = resolve(preset="tiny", overrides={**overrides, "d_norm": "spectral"})
    return build_discriminator(config).train(), config.conditional


def judge(d: nn.Module, conditional: bool, x: torch.Tensor) -> torch.Tensor:
    return d(x, torch.arange(len(x)) % 10) if conditional else d(x)


@pytest.mark.parametrize("overrides", MODELS.values(), ids=MODELS.keys())
def test_every_weight_has_largest_singular_value_one(overrides: dict[str, str]) -> None:
    torch.manual_seed(0)
    d, conditional = spectral_d(overrides)
    layers = [m for m in d.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    assert layers and all(is_parametrized(m, "weight") for m in layers)
    with torch.no_grad():
        for _ in range(300):  # each training-mode forward is one more power iteration
            judge(d, conditional, torch.rand(4, 1, 28, 28))
        for layer in layers:
            original = layer.parametrizations.weight.original
            assert torch.linalg.matrix_norm(original.reshape(len(original), -1), ord=2).item() != pytest.approx(
                1.0, abs=0.05)  # so the normalisation did something
            normalised = layer.weight.reshape(len(layer.weight), -1)  # conv (out, in, k, k) -> (out, in·k·k)
            assert torch.linalg.matrix_norm(normalised, ord=2).item() == pytest.approx(1.0, abs=2e-3)


def test_projection_embedding_stays_plain() -> None:
    d, _ = spectral_d(MODELS["cdcgan (projection), AC-GAN head"])
    assert d.embed is not None and not is_parametrized(d.embed)


def test_power_iteration_vectors_are_saved_and_restore_d_exactly() -> None:
    torch.manual_seed(0)
    d, _ = spectral_d(MODELS["dcgan"])
    with torch.no_grad():
        d(torch.rand(4, 1, 28, 28))  # u, v move on from their first values
    state = d.state_dict()
    vectors = [k for k in state if k.endswith(("._u", "._v"))]
    assert len(vectors) == 2 * 3 and all(k in dict(d.named_buffers()) for k in vectors)  # buffers, not parameters
    loaded = safetensors_load(safetensors_save({k: v.contiguous() for k, v in state.items()}))
    torch.manual_seed(1)  # another start: other u, v and weights
    other, _ = spectral_d(MODELS["dcgan"])
    other.load_state_dict(loaded)
    x = torch.rand(8, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(d(x), other(x)) and torch.equal(d(x), other(x))  # and the next iteration too
