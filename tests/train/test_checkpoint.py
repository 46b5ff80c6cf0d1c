from __future__ import annotations

import dataclasses

import json
import pickle
import shutil
import sys
from pathlib import Path

import numpy as np

import pytest
import torch
from safetensors.torch import load_file

from counterfeit.config import ConfigError, read_toml, resolve
from counterfeit.errors import UserError
from counterfeit.metrics import evaluate_path, load_evaluator
from counterfeit.losses import LOSSES
from counterfeit.rundir import load_run_config
from counterfeit.train.checkpoint import list_checkpoints, read_checkpoint
from counterfeit.train.guard import NonFiniteLoss
from counterfeit.train.loop import resume, train

SRC = Path(__file__).resolve().parents[2] / "src" / "counterfeit"


def same_run(a: Path, b: Path) -> None:
    """Bit-identical weights, the same sample grids, and metrics equal but for wall time."""
    for name in ("generator.safetensors", "discriminator.safetensors", "progress.gif"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    frames = sorted(p.name for p in (a / "samples").iterdir())
    assert frames == sorted(p.name for p in (b / "samples").iterdir())
    for frame in frames:
        assert (a / "samples" / frame).read_bytes() == (b / "samples" / frame).read_bytes(), frame
    assert metrics(a) == metrics(b)


def metrics(run: Path) -> list[dict]:
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]


def test_checkpoints_hold_the_whole_state(tiny_run: Path) -> None:
    assert [p.name for p in list_checkpoints(tiny_run)] == [
        "step_000020.safetensors", "step_000040.safetensors", "step_000050.safetensors"]
    last = read_checkpoint(list_checkpoints(tiny_run)[-1])
    assert last.step == 50 and last.meta["config_sha256"]
    for key in ("rng/torch", "rng/numpy", "noise_rng", "sampler/rng", "sampler/permutation",
                "g_opt/state/0/exp_avg", "d_opt/state/0/exp_avg_sq", "snapshots/frames", "snapshots/steps"):
        assert key in last.tensors, key
    final = load_file(tiny_run / "generator.safetensors")
    for name, tensor in final.items():
        assert torch.equal(last.tensors[f"generator/{name}"], tensor)


def test_keeps_only_the_newest(tmp_path: Path) -> None:
    config = resolve(preset="tiny", overrides={"steps": 30, "checkpoint_every": 4, "keep_checkpoints": 2})
    run = train(config, out=tmp_path / "run", quiet=True)
    assert [p.name for p in list_checkpoints(run)] == ["step_000028.safetensors", "step_000030.safetensors"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train(resolve(preset="tiny", overrides={"log_every": 3}), out=tmp_path_factory.mktemp("u") / "r",
                 quiet=True)


def test_finished_run_resumed_with_more_steps_is_bit_identical(uninterrupted: Path, tmp_path: Path) -> None:
    # Stopped at 33 (checkpoints 20, 33), then continued to 50: as if never stopped (the GIF drops
    # the end-of-run frame at 33 that a 50-step run lacks).
    short = train(resolve(preset="tiny", overrides={"log_every": 3, "steps": 33}), out=tmp_path / "r", quiet=True)
    (short / "samples" / "step_000033.png").unlink()  # the end-of-run grid a 50-step run lacks
    resume(short, {"steps": 50}, quiet=True)
    same_run(uninterrupted, short)
    assert "steps = 50" in (short / "config.toml").read_text()


def test_damaged_latest_falls_back_to_the_previous(uninterrupted: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    short = train(resolve(preset="tiny", overrides={"log_every": 3, "steps": 33}), out=tmp_path / "r", quiet=True)
    (short / "samples" / "step_000033.png").unlink()
    latest = short / "checkpoints" / "step_000033.safetensors"
    latest.write_bytes(latest.read_bytes()[:1000])  # as a disk error might leave it
    with open(short / "metrics.jsonl", "a") as handle:
        handle.write('{"step": 34, "d_lo')  # a line cut short by a crash
    resume(short, {"steps": 50}, quiet=True)
    assert "step_000033.safetensors: not a readable checkpoint" in capsys.readouterr().err
    same_run(uninterrupted, short)


def test_damaged_bytes_behind_a_sound_header_fall_back_too(uninterrupted: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    short = train(resolve(preset="tiny", overrides={"log_every": 3, "steps": 33}), out=tmp_path / "r", quiet=True)
    (short / "samples" / "step_000033.png").unlink()
    latest = short / "checkpoints" / "step_000033.safetensors"
    data = bytearray(latest.read_bytes())
    data[-100:] = bytes(100)  # the last tensor's bytes (safetensors' header and extents still check out)
    latest.write_bytes(bytes(data))
    resume(short, {"steps": 50}, quiet=True)
    assert "step_000033.safetensors: not a readable checkpoint (its tensors' bytes do not match" in capsys.readouterr().err
    same_run(uninterrupted, short)


def test_a_run_whose_samples_folder_was_removed_resumes(uninterrupted: Path, tmp_path: Path) -> None:
    short = train(resolve(preset="tiny", overrides={"log_every": 3, "steps": 33}), out=tmp_path / "r", quiet=True)
    shutil.rmtree(short / "samples")
    resume(short, {"steps": 50}, quiet=True)  # failed writing its first grid
    for name in ("generator.safetensors", "discriminator.safetensors"):
        assert (short / name).read_bytes() == (uninterrupted / name).read_bytes()
    assert sorted(p.name for p in (short / "samples").iterdir()) == sorted(
        p.name for p in (uninterrupted / "samples").iterdir() if int(p.stem[5:]) > 33)


def test_a_pickle_in_place_of_a_checkpoint_is_refused_unrun(tiny_run: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self) -> tuple:
            return (Path.touch, (marker,))

    run = tmp_path / "run"
    train(resolve(preset="tiny", overrides={"steps": 20}), out=run, quiet=True)
    evil = run / "checkpoints" / "step_000020.safetensors"
    evil.write_bytes(pickle.dumps({"generator": Payload()}))
    torch.save({"generator": Payload()}, run / "checkpoints" / "step_000020.pt")
    with pytest.raises(UserError, match="not a readable checkpoint"):
        read_checkpoint(evil)
    resume(run, {"steps": 25}, quiet=True)  # ignores both, restarts from step 0
    assert not marker.exists()
    assert read_checkpoint(run / "checkpoints" / "step_000025.safetensors").step == 25


def test_no_code_path_can_unpickle() -> None:
    for source in SRC.rglob("*.py"):
        text = source.read_text()
        assert "import pickle" not in text, source
        for call in text.split("torch.load(")[1:]:
            assert "weights_only=True" in call.split(")")[0], source


def test_nan_loss_stops_with_the_last_good_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0}
    real = LOSSES["nonsaturating"]

    def g_loss_going_nan(d_fake_logits: torch.Tensor) -> torch.Tensor:
        calls["n"] += 1
        loss = real.generator(d_fake_logits)
        return loss * float("nan") if calls["n"] > 27 else loss

    monkeypatch.setitem(LOSSES, "nonsaturating", dataclasses.replace(real, generator=g_loss_going_nan))
    config = resolve(preset="tiny", overrides={"checkpoint_every": 10, "log_every": 5})
    with pytest.raises(NonFiniteLoss) as error:
        train(config, out=tmp_path / "run", quiet=True)
    message = str(error.value)
    good = tmp_path / "run" / "checkpoints" / "step_000020.safetensors"
    assert "by step 30" in message and "finite through step 25" in message and str(good) in message
    assert error.value.exit_code == 3
    assert [p.name for p in list_checkpoints(tmp_path / "run")] == ["step_000010.safetensors", good.name]
    assert read_checkpoint(good).step == 20
    records = metrics(tmp_path / "run")
    assert max(r["step"] for r in records if "d_loss" in r) == 25  # no NaN line logged
    assert records[-1] == {"step": 30, "failed": message}  # why the run ended, for its report


def test_a_run_on_a_relative_path_resumes_and_evaluates_from_elsewhere(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # A relative `data` used to be recorded as given: from another directory the file was gone.
    for folder in ("data", "elsewhere"):
        (tmp_path / folder).mkdir()
    digits = np.random.default_rng(0).integers(0, 256, (64, 28, 28), dtype=np.uint8)
    np.savez(tmp_path / "data" / "few.npz", images=digits)
    np.savez(tmp_path / "data" / "other.npz", images=digits[::-1].copy())
    monkeypatch.chdir(tmp_path / "data")
    run = train(resolve(preset="tiny", overrides={"data": "few.npz", "steps": 4, "checkpoint_every": 2}),
                out=tmp_path / "run", quiet=True)
    monkeypatch.chdir(tmp_path / "elsewhere")
    resume(run, {"steps": 6}, quiet=True)
    resume(run, {"steps": 8, "data": "../data/few.npz"}, quiet=True)  # another spelling of the same file
    (tmp_path / "elsewhere" / "link.npz").symlink_to(tmp_path / "data" / "few.npz")
    resume(run, {"steps": 10, "data": "link.npz"}, quiet=True)  # the same file by another name
    assert load_run_config(run).data == str(tmp_path / "data" / "few.npz")
    with pytest.raises(ConfigError, match="data = .*other.npz"):
        resume(run, {"steps": 12, "data": "../data/other.npz"}, quiet=True)
    # Unlabelled noise has no evaluator of its own: the MNIST one is asked for by hand.
    assert evaluate_path(run, n=20, evaluator=load_evaluator()).n == 20


def test_a_resume_records_its_command_and_the_run_duration(tmp_path: Path) -> None:
    run = train(resolve(preset="tiny", overrides={"steps": 20}), out=tmp_path / "run", quiet=True)
    first = read_toml(run / "config.toml")["run"]
    assert "resume_command" not in first
    resume(run, {"steps": 30}, quiet=True)
    after = read_toml(run / "config.toml")["run"]
    assert after["resume_command"] == sys.argv and after["command"] == first["command"]
    # The resume's clock starts at its checkpoint's seconds: the first 20 steps count too.
    assert after["duration_seconds"] > read_checkpoint(run / "checkpoints" / "step_000020.safetensors").seconds


def test_the_run_records_the_gpus_its_process_was_shown_and_a_resume_its_own(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As an experiment's worker or Ray sets CUDA_VISIBLE_DEVICES (tiny trains on the CPU: the names
    need no GPU behind them)."""
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "7")
    run = train(resolve(preset="tiny", overrides={"steps": 4, "checkpoint_every": 2}), out=tmp_path / "run", quiet=True)
    assert read_toml(run / "config.toml")["run"]["cuda_visible_devices"] == "7"
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "9")  # resumed by another worker
    resume(run, {"steps": 6}, quiet=True)
    recorded = read_toml(run / "config.toml")["run"]
    assert (recorded["cuda_visible_devices"], recorded["resume_cuda_visible_devices"]) == ("7", "9")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    plain = train(resolve(preset="tiny", overrides={"steps": 2}), out=tmp_path / "plain", quiet=True)
    assert "cuda_visible_devices" not in read_toml(plain / "config.toml")["run"]  # not set: nothing claimed


def test_a_checkpoint_from_another_kind_of_device_is_refused_before_anything_changes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A GPU run's noise generator lives on the GPU: its state cannot continue a CPU run draw for draw."""
    from safetensors.torch import save_file

    from counterfeit.cli import main

    run = train(resolve(preset="tiny", overrides={"steps": 10, "checkpoint_every": 5}), out=tmp_path / "run",
                quiet=True)
    last = list_checkpoints(run)[-1]
    checkpoint = read_checkpoint(last)
    assert checkpoint.meta["device"] == "cpu"
    save_file(checkpoint.tensors, last, metadata={k: json.dumps(v) for k, v in {**checkpoint.meta,
                                                                                 "device": "cuda"}.items()})
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    assert main(["train", "--resume", str(run), "--steps", "20", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"checkpoint {last.name} was written on cuda, this resume would run on cpu; resume it on a machine " \
           "with a CUDA GPU" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


def test_a_cpu_run_resumes_on_a_machine_with_a_gpu_when_told_to_stay_on_the_cpu(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = train(resolve(preset="tiny", overrides={"steps": 10, "checkpoint_every": 5, "device": "auto"}),
                out=tmp_path / "run", quiet=True)
    reference = train(resolve(preset="tiny", overrides={"steps": 14, "checkpoint_every": 5, "device": "auto"}),
                      out=tmp_path / "reference", quiet=True)
    from counterfeit.train import loop

    monkeypatch.setattr(loop, "resolve_device",  # `auto` as on a machine with a GPU
                        lambda name, rank=0: torch.device("cpu" if name == "cpu" else "cuda"))
    with pytest.raises(UserError, match="was written on cpu, this resume would run on cuda; resume it with --device cpu"):
        resume(run, {"steps": 14}, quiet=True)
    resume(run, {"steps": 14, "device": "cpu"}, quiet=True)
    assert load_file(run / "generator.safetensors").keys() == load_file(reference / "generator.safetensors").keys()
    assert (run / "generator.safetensors").read_bytes() == (reference / "generator.safetensors").read_bytes()
    assert 'device = "cpu"' in (run / "config.toml").read_text()
    with pytest.raises(ConfigError, match="only the length .*, tensorboard and device may change"):
        resume(run, {"steps": 16, "seed": 3}, quiet=True)


def test_a_resumes_bad_option_is_named_by_where_it_came_from(tiny_run: Path, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    from counterfeit.cli import main

    run = Path(shutil.copytree(tiny_run, tmp_path / "run"))
    before = {path: path.read_bytes() for path in run.rglob("*") if path.is_file()}
    (tmp_path / "bad.toml").write_text("foo = 1\n")
    for args, said in [(["--set", "steps=abc"], "--set: steps: cannot parse 'abc'"),  # were all "config: ..."
                       (["--set", "max_seconds=-1"], "--set: max_seconds must be 0 or more"),
                       (["--config", str(tmp_path / "bad.toml")], f"{tmp_path / 'bad.toml'}: unknown config key 'foo'"),
                       (["--set", "epochs=1", "--steps", "340"], "--set: steps and epochs = 1 are both given"),
                       (["--set", "steps=45"], f"steps = 45: {run}/checkpoints/step_000050.safetensors is already "
                                               "at step 50; give more steps")]:  # said --steps 45
        assert main(["train", "--resume", str(run), *args]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and said in err, err
    after = {path: path.read_bytes() for path in run.rglob("*") if path.is_file() and path.name != "train.lock"}
    assert after == {path: data for path, data in before.items() if path.name != "train.lock"}


def test_a_run_resumes_with_the_config_file_that_trained_it(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    from counterfeit.cli import main

    np.savez(tmp_path / "few.npz", images=np.random.default_rng(0).integers(0, 256, (96, 28, 28), np.uint8))
    assert main(["config", "show", "--preset", "tiny", "--set", f"data={tmp_path / 'few.npz'}"]) == 0
    text = capsys.readouterr().out  # `config show > my.toml`, then epochs set by hand: the file has both keys
    (tmp_path / "my.toml").write_text(text.replace("\nepochs = 0 ", "\nepochs = 2 "))
    assert main(["train", "--config", str(tmp_path / "my.toml"), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    assert load_run_config(tmp_path / "run").steps == 6  # 2 epochs of 96 // 32 batches: the epochs decide
    assert main(["train", "--resume", str(tmp_path / "run"), "--config", str(tmp_path / "my.toml"), "--quiet"]) == 0
    assert load_run_config(tmp_path / "run").steps == 6  # was refused: "steps and epochs are both given"
