"""d_mbstd: the minibatch standard-deviation feature (models/mbstd.py) by hand, and what it does to
D: its verdict on an image depends on the rest of the batch."""

from __future__ import annotations

import pytest
import torch

from counterfeit.config import resolve
from counterfeit.models import build_discriminator
from counterfeit.models.mbstd import EPSILON, MinibatchStd, mixes_rows


def test_feature_is_the_mean_std_of_each_group_by_hand() -> None:
    x = torch.tensor([[0.0, 0.0], [2.0, 4.0],  # group 0: stds 1 (0, 2) and 2 (0, 4), mean 1.5
                      [1.0, 1.0], [1.0, 1.0]])  # group 1: all alike, std sqrt(EPSILON)
    out = MinibatchStd(group=2)(x)
    assert out.shape == (4, 3) and torch.equal(out[:, :2], x)
    torch.testing.assert_close(out[:, 2], torch.tensor([1.5, 1.5, EPSILON ** 0.5, EPSILON ** 0.5]))


def test_images_get_a_constant_extra_channel() -> None:
    x = torch.zeros(4, 2, 3, 3)
    x[1, 0, 0, 0] = 4.0  # group of 4 rows: one of 18 features is (0, 4, 0, 0), population std sqrt(3)
    out = MinibatchStd(group=4)(x)
    assert out.shape == (4, 3, 3, 3) and torch.equal(out[:, :2], x)
    expected = (3 ** 0.5 + 17 * EPSILON ** 0.5) / 18
    torch.testing.assert_close(out[:, 2], torch.full((4, 3, 3), expected))


def test_rows_that_do_not_split_into_groups_are_refused() -> None:
    with pytest.raises(ValueError, match="6 rows do not split into groups of 4"):
        MinibatchStd(4)(torch.rand(6, 5))


MODELS = {
    "mlp": {},
    "dcgan": {"model": "dcgan", "g_hidden": "8,4", "d_hidden": "4,8", "init": "dcgan-normal"},
    "cdcgan": {"model": "cdcgan", "g_hidden": "8,4", "d_hidden": "4,8", "init": "dcgan-normal"},
}


@pytest.mark.parametrize("overrides", MODELS.values(), ids=MODELS.keys())
def test_verdict_depends_on_the_batch(overrides: dict[str, str]) -> None:
    config = resolve(preset="tiny", overrides={**overrides, "d_mbstd": "true"})
    torch.manual_seed(0)
    d = build_discriminator(config).train()
    assert mixes_rows(d) and not mixes_rows(build_discriminator(config.replace(d_mbstd=False)))
    image = torch.rand(1, 1, 28, 28)
    calm, busy = torch.full((3, 1, 28, 28), 0.5), torch.rand(3, 1, 28, 28)  # its group mates: alike, varied
    y = torch.arange(4)
    judge = (lambda x: d(x, y)) if config.conditional else d
    in_calm, in_busy = judge(torch.cat([image, calm])), judge(torch.cat([image, busy]))
    assert in_calm.shape == (4,)
    assert not torch.equal(in_calm[0], in_busy[0])  # the same image, another batch
    assert torch.equal(in_calm, judge(torch.cat([image, calm])))  # the same batch: the same verdict
