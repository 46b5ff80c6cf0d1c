"""Spectral normalisation of D (Miyato et al. 2018): each Linear and Conv2d weight W is used as
W / sigma(W), sigma its largest singular value (of a conv weight reshaped to (out, in·k·k)), which
bounds D's slope: a Linear layer becomes 1-Lipschitz (for a convolution, the paper's approximation of that).

sigma is estimated by power iteration (torch's `parametrizations.spectral_norm`): one iteration per
forward pass in training mode, from vectors u and v kept as buffers of the layer (each iteration
starts from v: u is recomputed from it). Being buffers, they are in D's state_dict, so checkpoints
save and restore them and a resumed run continues exactly.
Under parametrization a layer's state_dict keys change: `weight` becomes
`parametrizations.weight.original` (the trained parameter) plus `parametrizations.weight.0._u`/`_v`.
"""

from __future__ import annotations

from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

NORMALISED = (nn.Linear, nn.Conv2d)


def apply_spectral_norm(discriminator: nn.Module) -> nn.Module:
    """Every Linear and Conv2d of `discriminator`, in place. Call it after the weights' init: once
    parametrized, `weight` is computed from the original, so an init writing it would change nothing.
    The first u and v come from torch's global RNG (then 15 power iterations at registration)."""
    for layer in list(discriminator.modules()):
        if isinstance(layer, NORMALISED):
            spectral_norm(layer)
    return discriminator
