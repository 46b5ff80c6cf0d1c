from __future__ import annotations

import torch

from counterfeit.data.sampler import InMemorySampler


def _labelled(n: int = 50) -> tuple[torch.Tensor, torch.Tensor]:
    labels = torch.arange(n) % 10
    images = labels.float().view(n, 1, 1, 1).expand(n, 1, 28, 28).clone()  # pixel value = label
    return images, labels


def test_labels_travel_with_their_images_across_epochs() -> None:
    images, labels = _labelled()
    sampler = InMemorySampler(images, 16, seed=0, labels=labels)
    for _ in range(10):  # 3 batches an epoch: crosses several reshuffles
        batch, batch_labels = sampler.next_labelled()
        assert batch_labels is not None and batch_labels.shape == (16,)
        assert torch.equal(batch[:, 0, 0, 0].long(), batch_labels)
    assert sampler.epoch == 3


def test_unlabelled_sampler_yields_none_and_next_is_images() -> None:
    images, _ = _labelled()
    assert InMemorySampler(images, 8, seed=0).next_labelled()[1] is None
    assert InMemorySampler(images, 8, seed=0).next().shape == (8, 1, 28, 28)


def test_state_dict_resumes_the_same_labelled_batches() -> None:
    images, labels = _labelled()
    a = InMemorySampler(images, 16, seed=3, labels=labels)
    a.next_labelled()
    b = InMemorySampler(images, 16, seed=99, labels=labels)
    b.load_state_dict(a.state_dict())
    for _ in range(5):
        (xa, ya), (xb, yb) = a.next_labelled(), b.next_labelled()
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
