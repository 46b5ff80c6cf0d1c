"""The MLP step's kernel choices: measured once per machine, remembered, and the faster one."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import torch

from counterfeit import hardware
from counterfeit.train.fast import kernels
from counterfeit.train.fast.kernels import MKL, ONEDNN, KernelChoices, Product, choices_path
from counterfeit.train.fast.timing import fastest

needs_onednn = pytest.mark.skipif(kernels.private_ops.onednn_linear() is None, reason="no oneDNN Linear here")


def test_fastest_takes_the_kernel_with_the_least_time() -> None:
    calls = {"slow": 0, "quick": 0}

    def slow() -> None:
        calls["slow"] += 1
        time.sleep(0.005)

    def quick() -> None:
        calls["quick"] += 1

    assert fastest({"slow": slow, "quick": quick}) == "quick"
    assert fastest({"quick": quick, "slow": slow}) == "quick"
    assert calls == {"slow": 20, "quick": 20}  # one warm-up and 9 timed calls each, twice
    assert fastest({"only": slow}) == "only" and calls["slow"] == 20  # nothing to choose: not timed


def test_one_lucky_call_does_not_decide() -> None:
    """Usually slow with one quick call (a burst of load elsewhere ending) must lose to steady."""
    calls = {"lucky": 0}

    def lucky() -> None:
        calls["lucky"] += 1
        if calls["lucky"] != 3:  # the warm-up, one timed call, then the rest
            time.sleep(0.004)

    assert fastest({"lucky": lucky, "steady": lambda: time.sleep(0.001)}) == "steady"


@needs_onednn
@pytest.mark.parametrize("a_t, b_t", [(False, True), (False, False), (True, False)])  # x W.T, g W, g.T x
@pytest.mark.parametrize("m, k, n", [(5, 7, 3), (16, 12, 8)])  # the second: a g.T the blocked copy can write
def test_both_libraries_compute_the_product(a_t: bool, b_t: bool, m: int, k: int, n: int) -> None:
    results = {name: run() for name, run in Product(m, k, n, a_t, b_t, torch.float32).runners().items()}
    assert set(results) == {MKL, ONEDNN}
    assert results[MKL].shape == (m, n)  # not square: a wrongly transposed operand would not fit
    torch.testing.assert_close(results[ONEDNN], results[MKL])


@needs_onednn
def test_a_choice_is_measured_once_and_remembered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    measured: list[str] = []

    def fake_fastest(runners: dict) -> str:
        measured.append("x")
        return ONEDNN

    monkeypatch.setattr(kernels, "fastest", fake_fastest)
    path = tmp_path / "kernels.json"
    product = Product(8, 4, 2, False, True, torch.bfloat16)
    assert KernelChoices(path).library(product) == ONEDNN
    assert json.loads(path.read_text()) == {"bfloat16:8x4x2:NT": ONEDNN}
    again = KernelChoices(path)  # a later run on this machine: read, not measured
    assert again.library(product) == ONEDNN and len(measured) == 1
    other = Product(8, 4, 2, True, False, torch.float32)
    assert again.library(other) == ONEDNN and len(measured) == 2
    assert set(json.loads(path.read_text())) == {product.key, other.key}  # both kept


@needs_onednn
def test_an_unwritable_cache_still_chooses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kernels, "fastest", lambda runners: MKL)
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    path = blocked / "kernels.json"  # its parent is a file: nothing can be written here
    assert KernelChoices(path).library(Product(4, 4, 4, False, False, torch.float32)) == MKL
    assert blocked.read_text() == "not a folder"


def test_a_damaged_cache_file_is_measured_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "kernels.json"
    path.write_text('{"float32:4x4x4:NN": "cublas", "half')
    monkeypatch.setattr(kernels, "fastest", lambda runners: MKL)
    assert KernelChoices(path).library(Product(4, 4, 4, False, False, torch.float32)) == MKL
    assert json.loads(path.read_text()) == {"float32:4x4x4:NN": MKL}


def test_each_cpu_core_and_torch_has_its_own_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hardware, "cpu_signature", lambda: "AMD EPYC 25 17")
    zen4 = choices_path()
    monkeypatch.setattr(hardware, "cpu_signature", lambda: "AMD EPYC 26 2")
    assert choices_path() != zen4 and choices_path().name == f"kernels-v{kernels.METHOD}-AMD-EPYC-26-2-torch-{torch.__version__}.json".replace("+", "-")


@needs_onednn
def test_measuring_leaves_torchs_global_rng_alone(tmp_path: Path) -> None:
    """A run that measures its kernels and one that reads them must draw the same dropout masks."""
    torch.manual_seed(3)
    before = torch.get_rng_state()
    KernelChoices(tmp_path / "kernels.json").library(Product(16, 8, 4, True, False, torch.float32))
    assert (tmp_path / "kernels.json").exists() and torch.equal(torch.get_rng_state(), before)


@needs_onednn
def test_the_products_of_a_pass_are_measured_and_written_at_once(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    writes: list[dict] = []
    real_write = kernels._write
    monkeypatch.setattr(kernels, "fastest", lambda runners: ONEDNN)
    monkeypatch.setattr(kernels, "_write", lambda path, choices: writes.append(dict(choices)) or real_write(path, choices))
    products = [Product(8, 4, 2, False, True, torch.float32), Product(8, 2, 4, False, False, torch.float32)]
    assert KernelChoices(tmp_path / "k.json").libraries(products) == [ONEDNN, ONEDNN]
    assert len(writes) == 1 and set(writes[0]) == {p.key for p in products}
    assert KernelChoices(tmp_path / "k.json").libraries(products) == [ONEDNN, ONEDNN] and len(writes) == 1
