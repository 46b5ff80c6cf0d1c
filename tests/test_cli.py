from __future__ import annotations

import argparse
import errno
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
from PIL import Image

import counterfeit
import counterfeit.config as config_module
from counterfeit.cli import build_parser, main
from counterfeit.config import KEYS, resolve, to_dict


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "counterfeit", *args], capture_output=True, text=True)


def test_presets_lists_one_line_each(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["presets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("mlp2 ") for line in lines)
    assert any(line.startswith("tiny ") for line in lines)


def test_sample_png_and_npz(tiny_run: Path, tmp_path: Path) -> None:
    assert main(["sample", str(tiny_run), "-n", "10", "--out", str(tmp_path / "s.png")]) == 0
    with Image.open(tmp_path / "s.png") as png:
        assert png.format == "PNG"
    assert main(["sample", str(tiny_run), "-n", "10", "--seed", "3", "--out", str(tmp_path / "s.npz")]) == 0
    images = np.load(tmp_path / "s.npz")["images"]
    assert images.shape == (10, 28, 28) and images.dtype == np.uint8


def test_sample_and_interpolate_never_replace_a_runs_own_files(tiny_run: Path, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    run = Path(shutil.copytree(tiny_run, tmp_path / "run"))
    grid = sorted((run / "samples").iterdir())[0]
    (run / "checkpoints" / "mine.npz").write_bytes(b"x")  # anything in the run's folders counts
    owned = [("sample", grid), ("sample", run / "losses.png"), ("sample", run / "checkpoints" / "mine.npz"),
             ("interpolate", run / "progress.gif"), ("sample", run / "samples" / "new.png")]
    before = {path: path.read_bytes() for path in run.rglob("*") if path.is_file()}
    for command, out in owned:
        assert main([command, str(run), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"--out {out}: one of run {run}'s own files" in err
    assert {path: path.read_bytes() for path in run.rglob("*") if path.is_file()} == before
    assert main(["sample", str(run), "-n", "4", "--out", str(run / "mine.png")]) == 0  # a new name beside them: fine
    assert main(["sample", str(run), "-n", "4", "--out", str(run / "samples" / ".." / "also.png")]) == 0  # RUN/also.png
    (tmp_path / "d.png").mkdir()
    assert main(["sample", str(run), "--out", str(tmp_path / "d.png")]) == 2  # said before any work, naming --out
    assert f"--out {tmp_path / 'd.png'}: is a directory" in capsys.readouterr().err


def test_train_cli_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = run_cli("train", "--preset", "tiny", "--steps", "12", "--out", str(out), "--set", "log_every=4")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    assert (out / "generator.safetensors").is_file()
    assert "step" in result.stderr  # plain progress lines when not a terminal


@pytest.mark.parametrize("args, phrase", [
    (["train", "--preset", "nope"], "unknown preset 'nope'"),
    (["train", "--set", "colour=red"], "unknown config key 'colour'"),
    (["train", "--set", "batch_size=-1"], "batch_size must be positive"),
    (["train", "--config", "/nonexistent/my.toml"], "/nonexistent/my.toml: no such config file"),
    (["train", "--data", "/nonexistent/x.npz", "--preset", "tiny"], "/nonexistent/x.npz"),
    (["sample", "/nonexistent/run", "--out", "x.png"], "not a run directory"),
    (["sample", "/nonexistent/run", "--out", "x.jpg"], "expected a .png or .npz"),
    (["sample", "/nonexistent/run", "--out", "/nonexistent/d/x.png"], "--out /nonexistent/d/x.png: no such directory"),
    (["interpolate", "/nonexistent/run", "--out", "/nonexistent/d/x.gif"], "no such directory /nonexistent/d"),
    # stored, a quick one would have judged MNIST in the shipped evaluator's place, under its name
    (["evaluator", "train", "--data", "embedded", "--epochs", "1"], "the shipped MNIST evaluator is trained on these"),
])
def test_bad_input_is_one_line_exit_2(args: list[str], phrase: str, tmp_path: Path) -> None:
    result = run_cli(*args, *(["--out", str(tmp_path / "r")] if args[0] == "train" else []))
    assert result.returncode == 2
    assert phrase in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "r").exists()


def test_a_usage_error_keeps_the_usage_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        main(["train", "--steps", "0"])
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: counterfeit train ")
    assert err.strip().splitlines()[-1] == "counterfeit train: error: argument --steps: must be positive, got 0"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        main(["--version"])
    assert exit.value.code == 0 and capsys.readouterr().out == f"counterfeit {counterfeit.__version__}\n"


def subcommands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command and subcommand (argparse has no public way to list them)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield (*prefix, name)
                yield from subcommands(child, (*prefix, name))


@pytest.mark.parametrize("command", list(subcommands(build_parser())), ids=" ".join)
def test_every_help_says_what_it_does_with_an_example(command: tuple[str, ...],
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        main([*command, "--help"])
    assert exit.value.code == 0
    text = capsys.readouterr().out
    description = text.split("\n\n")[1]  # after the usage paragraph
    assert len(description) > 40 and not description.startswith(("positional", "options"))
    example = text.split("example:\n", 1)[1]
    assert example.lstrip().startswith(f"counterfeit {command[0]}")


def test_sample_and_eval_spell_n_alike() -> None:
    parser = build_parser()
    for command in (["sample", "run", "--out", "x.png"], ["eval", "run"]):
        assert parser.parse_args([*command, "-n", "7"]).n == parser.parse_args([*command, "--n", "7"]).n == 7


def test_config_show_prints_every_key_with_its_meaning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    my = tmp_path / "my.toml"
    my.write_text('preset = "dcgan"\nsteps = 300\n')
    assert main(["config", "show", "--config", str(my), "--set", "lr_g=3e-4", "--set", "g_hidden=32,16"]) == 0
    out = capsys.readouterr().out
    expected = resolve(config_file=my, overrides={"lr_g": "3e-4", "g_hidden": "32,16"})
    assert tomllib.loads(out) == {k: list(v) if isinstance(v, tuple) else v for k, v in to_dict(expected).items()}
    for line in out.splitlines():
        name = line.split(" = ")[0]
        assert line.endswith(f"# {KEYS[name].describe()}"), line
    assert 'model = "dcgan"' in out and "steps = 300" in out and "g_hidden = [32, 16]" in out


def test_an_os_error_naming_a_file_is_one_line(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    def refuse(**kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", "/somewhere/my.toml")

    monkeypatch.setattr(config_module, "resolve", refuse)
    assert main(["config", "show"]) == 2
    assert capsys.readouterr().err == "counterfeit config: error: /somewhere/my.toml: Permission denied\n"


def test_an_os_error_about_no_file_keeps_its_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(**kwargs: object) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(config_module, "resolve", fail)
    with pytest.raises(OSError, match="Input/output error"):
        main(["config", "show"])


def test_shell_completion(tmp_path: Path) -> None:
    # What `eval "$(register-python-argcomplete counterfeit)"` makes bash do on TAB (here for
    # `python -m counterfeit`, hence _ARGCOMPLETE=3): completions go to the file, words separated by IFS.
    line = f"{sys.executable} -m counterfeit eval --pe"
    env = {**os.environ, "_ARGCOMPLETE": "3", "_ARGCOMPLETE_IFS": "\n", "COMP_LINE": line,
           "COMP_POINT": str(len(line)), "_ARGCOMPLETE_STDOUT_FILENAME": str(tmp_path / "words")}
    result = subprocess.run([sys.executable, "-m", "counterfeit"], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "words").read_text().split() == ["--per-class"]


def test_a_closed_pipe_is_no_traceback() -> None:
    # `counterfeit config show | head -1`: the reader leaves before the output is written.
    with subprocess.Popen([sys.executable, "-m", "counterfeit", "config", "show"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as process:
        process.stdout.close()  # before the CLI has even imported torch
        assert process.stderr.read() == ""
    assert process.returncode == 141
