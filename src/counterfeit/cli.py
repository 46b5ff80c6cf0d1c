"""Command line: parse arguments, build a config, call into the package. No logic of its own."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from counterfeit._version import __version__
from counterfeit.errors import UserError
from counterfeit.train.interrupt import TrainingStopped
from counterfeit.rundir import REPORT_FILE


BENCH_SECONDS = 3.0  # bench's measuring time per candidate, unless --seconds says otherwise


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    if value == float("inf"):  # --seconds would measure forever; --max-minutes, a cap that never comes
        raise argparse.ArgumentTypeError(f"must be finite, got {text}")
    return value


def _seed(text: str) -> int:
    from counterfeit.config import KEYS

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if not KEYS["seed"].accepts(value):
        raise argparse.ArgumentTypeError(f"must {KEYS['seed'].rule(value)}, got {value}")
    return value


def _check_out_file(path: Path) -> None:
    """Before any work (a file that cannot be written would fail only at the end), and before
    anything is replaced that nothing could write again: a run's own files."""
    from counterfeit.rundir import run_owning

    if not path.parent.is_dir():
        raise UserError(f"--out {path}: no such directory {path.parent}")
    if path.is_dir():
        raise UserError(f"--out {path}: is a directory; give a file name such as {path / ('out' + path.suffix)}")
    run = run_owning(path)
    if run is not None:
        raise UserError(f"--out {path}: one of run {run}'s own files; write it outside the run's "
                        f"files and folders, e.g. {run / ('mine' + path.suffix)}")


def cmd_train(args: argparse.Namespace) -> int:
    from counterfeit.config import parse_set, read_toml, resolve, steps_turn_off_epochs
    from counterfeit.train.loop import resume, train

    overrides: dict[str, object] = dict(parse_set(args.set))
    for key in ("steps", "seed", "data", "device"):
        if getattr(args, key) is not None:
            overrides[key] = getattr(args, key)
    if args.skip_bad:
        overrides["skip_bad"] = True
    if args.resume is not None:
        if args.out is not None:
            raise UserError(f"--out {args.out}: cannot be combined with --resume (the run directory)")
        # Every option given must agree with the run's config; resume() names a disagreement. Each
        # layer as `resolve` takes it: steps alone turn epochs off; both in a file, epochs decides;
        # both on the command line are refused (resolve's check, on that layer alone).
        if "steps" in overrides and "epochs" in overrides:
            resolve(overrides={key: overrides[key] for key in ("steps", "epochs")})
        file_values = read_toml(args.config) if args.config else {}
        given = {**steps_turn_off_epochs(file_values), **steps_turn_off_epochs(overrides)}
        origin = "--set" if not args.config else f"{args.config} with --set" if overrides else str(args.config)
        run_dir = resume(args.resume, {**given, **({"preset": args.preset} if args.preset else {})},
                         quiet=args.quiet, origin=origin)
    else:
        config = resolve(preset=args.preset, config_file=args.config, overrides=overrides)
        run_dir = train(config, out=args.out, quiet=args.quiet)
    if not _is_main_rank():  # once, by rank 0: `RUN=$(torchrun ... train ...)` must get one line
        return 0
    sys.stdout.write(f"{run_dir}\n")
    sys.stdout.flush()
    report = run_dir / REPORT_FILE
    if not args.quiet and report.is_file():  # stdout keeps its one line, the run directory
        print(f"report: {report}", file=sys.stderr)
    return 0


def _is_main_rank() -> bool:
    """Rank 0 under torchrun, or a process of its own."""
    from counterfeit.train.distributed import world_from_env

    return world_from_env().is_main


def cmd_report(args: argparse.Namespace) -> int:
    from counterfeit.report import write_report

    print(write_report(args.run_dir, args.out))
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from counterfeit.report.compare import terminal_table, write_comparison

    comparison = write_comparison(args.runs, args.out)
    print(terminal_table(comparison))
    print(f"\n{args.out}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    import json

    from counterfeit.bench import bench
    from counterfeit.bench.run import bench_device, format_table
    from counterfeit.config import parse_set, preset_names, resolve

    overrides = parse_set(args.set)
    if args.device is not None:
        if "device" in overrides:
            raise UserError(f"--device {args.device}: give either --device or --set device=..., not both")
        overrides["device"] = args.device
    if args.runs is not None and (args.summarize or args.to_quality is not None):
        raise UserError(f"--runs {args.runs}: cannot be combined with --summarize or --to-quality")
    if args.profile and (args.runs is not None or args.summarize or args.to_quality is not None):
        raise UserError("--profile: cannot be combined with --runs, --summarize or --to-quality")
    if args.summarize:
        return _bench_summary(args)
    if args.threads:  # here, for --to-quality and --profile; bench() and --runs' processes set their own
        import torch

        torch.set_num_threads(args.threads)
    if args.to_quality is not None:
        return _bench_to_quality(args, overrides)
    for option, given in (("--max-minutes", args.max_minutes is not None), ("--quiet", args.quiet)):
        if given:
            raise UserError(f"{option}: only with --to-quality")
    presets = args.preset or ([] if args.config else [p for p in ("mlp2", "mlp4") if p in preset_names()])
    configs = [resolve(preset=name, overrides=overrides) for name in presets]  # checked before any run
    configs += [resolve(config_file=path, overrides=overrides) for path in args.config]
    device = bench_device(configs)  # one device, and one this machine has: checked before any run
    if args.out is not None and args.runs is None:
        raise UserError(f"--out {args.out}: only with --to-quality or --runs")
    if args.profile:
        return _bench_profile(args, configs, device)
    if args.runs is not None:
        return _bench_runs(args, presets)
    precisions = ("fp32", "bf16") if args.precision == "both" else (args.precision,)
    results = bench(configs, seconds=args.seconds, threads=args.threads, precisions=precisions)
    print(json.dumps(results, indent=1) if args.json else format_table(results))
    return 0


def _bench_profile(args: argparse.Namespace, configs: list[Any], device: Any) -> int:
    """Each config's step in each asked precision under torch.profiler: its costliest ops per step."""
    import json

    from counterfeit.bench.profile import format_profile, profile_step

    if device.type != "cpu":
        raise UserError(f"--profile: profiles the step on the CPU only; these configs train on {device.type} "
                        "(give --device cpu)")
    precisions = ("fp32", "bf16") if args.precision == "both" else (args.precision,)
    results = [profile_step(config.replace(precision=precision), args.seconds)
               for config in configs for precision in precisions]
    print(json.dumps(results, indent=1) if args.json else "\n\n".join(format_profile(r) for r in results))
    return 0


def _bench_summary(args: argparse.Namespace) -> int:
    for name in ("preset", "config", "to_quality", "set", "device"):
        if getattr(args, name):
            raise UserError(f"--{name.replace('_', '-')}: cannot be combined with --summarize (which measures nothing)")
    return _print_summary(args.summarize, args.json)


def _bench_runs(args: argparse.Namespace, presets: list[str]) -> int:
    """The same measurement --runs times, each in a fresh process (bench/repeat.py), then the
    medians and ranges over them as --summarize prints them."""
    import tempfile

    from counterfeit.bench.repeat import repeat, run_files

    forwarded = [f"--preset={name}" for name in presets] + [f"--config={path.resolve()}" for path in args.config]
    forwarded += [f"--set={item}" for item in args.set] + [f"--seconds={args.seconds}", f"--precision={args.precision}"]
    forwarded += [f"--threads={args.threads}"] if args.threads else []
    forwarded += [f"--device={args.device}"] if args.device else []
    with tempfile.TemporaryDirectory(prefix="counterfeit-bench-") as scratch:
        paths = repeat(forwarded, run_files(args.out if args.out is not None else Path(scratch), args.runs))
        return _print_summary(paths, args.json)


def _print_summary(paths: list[Path], as_json: bool) -> int:
    """Each figure's median and range over the bench runs in `paths` (bench/summary.py)."""
    import json

    from counterfeit.bench.summary import format_summary, read_runs, summarize

    summary = summarize(read_runs(paths), paths)
    print(json.dumps(summary, indent=1) if as_json else format_summary(summary))
    return 0


def _bench_to_quality(args: argparse.Namespace, overrides: dict[str, Any]) -> int:
    """Exit 0 when the target was reached, 1 when the run ended (steps, --max-minutes) without it."""
    import json

    from counterfeit.bench.quality import format_result, target_for, to_quality
    from counterfeit.config import resolve

    for name in ("preset", "config"):
        if getattr(args, name):
            raise UserError(f"--{name}: cannot be combined with --to-quality (which names the one preset)")
    # timing options of the other modes would be recorded in the run's command line, and not used
    if args.seconds != BENCH_SECONDS or args.precision != "both":
        raise UserError("--seconds, --precision: not with --to-quality, which trains the preset for as long as it "
                        "takes, in its own precision (change that with --set precision=...)")
    target_for(args.to_quality)  # before any work: a preset without a target costs nothing
    result = to_quality(resolve(preset=args.to_quality, overrides=overrides), args.out, args.max_minutes, args.quiet)
    print(json.dumps(result, indent=1) if args.json else format_result(result))
    return 0 if result["reached"] else 1


def cmd_sample(args: argparse.Namespace) -> int:
    from counterfeit.sampling.labels import parse_digit
    from counterfeit.sampling import draw, load_generator, save_samples

    if args.digit is not None:
        parse_digit(args.digit)  # a bad --digit fails before anything is loaded
    if Path(args.out).suffix.lower() not in (".png", ".npz"):
        raise UserError(f"--out {args.out}: expected a .png or .npz file name")
    _check_out_file(Path(args.out))
    generator, config = load_generator(args.run_dir)
    samples = draw(generator, config, args.n, seed=args.seed, digit=args.digit)
    save_samples(samples.images, args.out, samples.labels, samples.columns)
    print(args.out)
    return 0


def cmd_interpolate(args: argparse.Namespace) -> int:
    from counterfeit.sampling.interpolate import latent_walk, save_walk
    from counterfeit.sampling.labels import parse_digit
    from counterfeit.sampling import load_generator

    digit = None if args.digit is None else parse_digit(args.digit)
    if Path(args.out).suffix.lower() != ".gif":
        raise UserError(f"--out {args.out}: expected a .gif file name")
    _check_out_file(Path(args.out))
    generator, config = load_generator(args.run_dir)
    save_walk(latent_walk(generator, config, args.steps, seed=args.seed, digit=digit), args.out)
    print(args.out)
    return 0


def cmd_config_show(args: argparse.Namespace) -> int:
    from counterfeit.config import annotated_toml, parse_set, resolve

    config = resolve(preset=args.preset, config_file=args.config, overrides=parse_set(args.set))
    sys.stdout.write(annotated_toml(config))
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    from counterfeit.config import preset_description, preset_names

    names = preset_names()
    width = max(map(len, names))
    for name in names:
        print(f"{name:<{width}}  {preset_description(name)}")
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from counterfeit.data import download

    for path in download(args.dataset, args.dir, base_url=args.base_url):
        print(path)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    import json

    from counterfeit.metrics.evaluate import evaluate_path, evaluate_real
    from counterfeit.metrics.evaluator import load_evaluator

    if args.real == (args.target is not None):
        raise UserError("give either RUN_DIR|SAMPLES.npz or --real")
    evaluator = load_evaluator(args.evaluator) if args.evaluator else None  # else: the one matching the data
    if args.real:
        report = evaluate_real(args.data, args.n, evaluator, invert=args.invert, skip_bad=args.skip_bad)
    else:
        report = evaluate_path(args.target, args.n, args.seed, args.data, evaluator, args.per_class,
                               invert=args.invert, skip_bad=args.skip_bad)
    print(json.dumps(report.to_json()) if args.json else report.table())
    return 0


def cmd_evaluator_train(args: argparse.Namespace) -> int:
    import functools
    from dataclasses import replace

    from counterfeit.data import load_dataset
    from counterfeit.metrics.evaluator import EVALUATOR_SHA256, RECORD_FILE, read_record, weights_path
    from counterfeit.metrics.evaluator_store import data_label, store_dir, train_command
    from counterfeit.metrics.evaluator_train import TrainSettings, train_evaluator

    settings = TrainSettings() if args.epochs is None else replace(TrainSettings(), epochs=args.epochs)
    log = functools.partial(print, file=sys.stderr, flush=True)
    shipped = args.data is None and not args.invert and not args.skip_bad
    if shipped:  # the shipped weights, rebuilt from the embedded digits
        out = args.out or weights_path().parent
        record = train_evaluator(out, settings, log)
    else:
        dataset = load_dataset(args.data, args.invert, args.skip_bad)
        shipped_record = weights_path().with_name(RECORD_FILE)
        if (args.out is None and shipped_record.is_file()
                and dataset.fingerprint == read_record(shipped_record).get("data_fingerprint")):
            # stored, it would judge this data in the shipped one's place, under the same name
            raise UserError(f"--data {args.data}: the shipped MNIST evaluator is trained on these digits; "
                            "`counterfeit evaluator train` without --data rebuilds it, or --out DIR writes "
                            "another elsewhere")
        out = args.out or store_dir(dataset)
        command = train_command(args.data, args.invert, args.skip_bad)
        command += f" --epochs {args.epochs}" if args.epochs is not None else ""
        record = train_evaluator(out, settings, log, dataset, data_label(dataset), command)
    print(f"held-out accuracy {record['heldout_accuracy']:.4f}, {record['train_seconds']:.0f} s; "
          f"wrote {out}; sha256 {record['sha256']}")
    if shipped and record["sha256"] != EVALUATOR_SHA256:
        print("note: this differs from EVALUATOR_SHA256 in counterfeit/metrics/evaluator.py; "
              "set it to ship these weights", file=sys.stderr)
    return 0


def cmd_evaluator_info(args: argparse.Namespace) -> int:
    from counterfeit.data import load_dataset
    from counterfeit.metrics.evaluator import RECORD_FILE, load_evaluator
    from counterfeit.metrics.evaluator_store import require_evaluator, train_command

    if args.data is None and not args.invert and not args.skip_bad:
        evaluator = load_evaluator(args.evaluator)  # checks the sha256
    else:
        dataset = load_dataset(args.data, args.invert, args.skip_bad)
        evaluator = require_evaluator(dataset, train_command(args.data, args.invert, args.skip_bad))
    record = evaluator.record
    if not record:
        raise UserError(f"{evaluator.path}: no evaluator.json beside the weights")
    try:  # all lines first: a record missing a field prints nothing but the error
        lines = _evaluator_lines(evaluator, record)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise UserError(f"{evaluator.path.with_name(RECORD_FILE)}: incomplete evaluator record "
                        f"({type(err).__name__}: {err})") from None
    print("\n".join(lines))
    return 0


def _evaluator_lines(evaluator: Any, record: dict[str, Any]) -> list[str]:
    """`evaluator info`'s lines, from its record (KeyError/TypeError where a field is missing or malformed)."""
    split = record["split"]
    lines = [f"evaluator {evaluator.label} evaluator ({record.get('num_classes', 10)} classes)",
             f"weights   {evaluator.path}",
             f"sha256    {evaluator.sha256} (verified)",
             f"accuracy  {record['heldout_accuracy']:.2%} on {split['heldout']} held-out images "
             f"(train {record['train_accuracy']:.2%} on {split['train']})",
             f"data      {record['data']} (fingerprint {record['data_fingerprint']})"]
    if record.get("classes"):
        lines.append(f"classes   {', '.join(record['classes'])}")
    return lines + [f"split     {split['method']}; indices sha256 {split['indices_sha256'][:16]}...",
                    f"trained   by `{record['command']}` in {record['train_seconds']:.0f} s "
                    f"(torch {record['torch']}, {record['torch_threads']} threads)"]


def cmd_experiment_run(args: argparse.Namespace) -> int:
    from counterfeit.experiments.runner import run_experiment

    root = run_experiment(args.file, out=args.out, workers=args.workers, backend=args.backend, address=args.address,
                          retry_failed=args.retry_failed)
    print(root)
    return 0


def cmd_experiment_summary(args: argparse.Namespace) -> int:
    import json

    from counterfeit.experiments.expdir import SUMMARY_MD
    from counterfeit.experiments.summary import write_summary

    summary = write_summary(args.dir)
    if args.json:
        print(json.dumps(summary))
    else:
        sys.stdout.write((args.dir / SUMMARY_MD).read_text("utf-8"))
    return 0


def _add_data_options(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--invert", action="store_true", help=f"{what} is dark-on-light: use 255 - pixels")
    parser.add_argument("--skip-bad", action="store_true",
                        help=f"{what} is an image folder: go on without the files that are not readable images")


def _command(sub: Any, name: str, summary: str, description: str, example: str) -> argparse.ArgumentParser:
    """A subcommand whose --help says what it does (`description`) and shows `example`."""
    return sub.add_parser(name, help=summary, description=description, epilog=f"example:\n{example}",
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="counterfeit", description="Train, watch and judge GANs on MNIST-like images.",
        epilog="example:\n  counterfeit train --preset tiny\n  counterfeit COMMAND --help",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"counterfeit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = _command(sub, "train", "train a GAN; prints the run directory", """\
Train a GAN from a preset, a TOML config file and --set overrides (in that order), writing a run
directory (config, metrics.jsonl, sample grids, progress.gif, checkpoints, weights). With
--resume, continue a run from its newest checkpoint.""", """\
  counterfeit train --preset tiny --steps 100 --set lr_g=2e-4 --out runs/try
  counterfeit train --resume runs/try --steps 200""")
    train.add_argument("--preset", help="a preset name (see `counterfeit presets`); default mlp2")
    train.add_argument("--config", type=Path, help="a TOML config file (e.g. a copied preset)")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override one config key; repeatable (e.g. --set lr_g=2e-4; keys: `config show`)")
    train.add_argument("--steps", type=_positive_int, help="number of training steps (updates of D and G)")
    train.add_argument("--seed", type=_seed, help="seed for every random number of the run (default: the config's, 0)")
    train.add_argument("--out", type=Path, help="run directory (default runs/<preset>-<time>)")
    train.add_argument("--data", help="mnist, fashion-mnist or kmnist (after `counterfeit download`), stacked-mnist "
                       "(3 digits as the channels of one image: needs channels = 3, as the preset stacked), a folder of "
                       "PNG/JPEG images (one subfolder per class for labels), an IDX images file or an .npz; "
                       "default: embedded MNIST")
    train.add_argument("--skip-bad", action="store_true",
                       help="image folders: go on without the files that are not readable images (skip_bad = true)")
    train.add_argument("--device", choices=["auto", "cpu", "cuda"],
                       help="where to train (default: the config's, `auto` = CUDA when available)")
    train.add_argument("--resume", type=Path, metavar="RUN_DIR",
                       help="continue a run from its latest checkpoint (with --steps N: to step N)")
    train.add_argument("--quiet", action="store_true", help="print only the run directory")
    train.set_defaults(func=cmd_train)

    bench = _command(sub, "bench", "time our training step against the GEMM floor, sgemm and a textbook loop", """\
Time, interleaved in one run, a 1024^3 sgemm (the machine's roofline), each config's GEMM floor,
our training step and the textbook loop; print steps/s, GFLOP/s and the ratios between them.

Each config is timed in float32 and in bfloat16 (a row each, with that precision's floor), unless
--precision picks one.

With --to-quality PRESET: train the preset (a run directory like `train`'s) until its quality
target holds at an in-training evaluation, and print the wall-clock seconds, the steps and the
metrics at that evaluation (also written to RUN_DIR/to_quality.json). Targets: cdcgan, every
digit's conditional accuracy >= 0.97; dcgan, mlp2, mlp4: FID <= 4x the real floor, precision >=
0.80, recall >= 0.75; best: the same, all 10 classes and class KL <= 0.02. The run also ends at
the preset's `steps` (raise with --set steps=N) or after --max-minutes; then it prints "target not
reached" and exits 1.

With --summarize FILE...: read the JSON of several `bench --json` runs of one command on one
machine and print each figure's median and range over them, as a Markdown table (--json: as JSON).
One run is one spell of the machine's load; the median over runs is what docs/benchmarks.md reports.

With --runs N: measure N times, each run a fresh process, and print that summary of them; --out DIR
keeps each run's JSON (DIR/run1.json, ...).

With --profile: where our step's time goes, on the CPU: each config's step (in each precision)
under torch.profiler for about --seconds (at most 200 steps: reading the profile back takes longer
than the steps), and the operations with the most time a step, with their input shapes and share of
the step.""", """\
  counterfeit bench --preset mlp2 --seconds 5 --json
  counterfeit bench --preset dcgan --precision fp32 --profile
  counterfeit bench --preset dcgan --precision bf16
  counterfeit bench --to-quality cdcgan --set steps=20000 --max-minutes 60
  counterfeit bench --preset mlp2 --preset mlp4 --runs 5 --out bench-today
  counterfeit bench --summarize bench-today/run*.json""")
    bench.add_argument("--preset", action="append", default=[],
                       help="a preset to measure; repeatable (default: mlp2 and mlp4, where present)")
    bench.add_argument("--config", type=Path, action="append", default=[],
                       help="a TOML config file to measure; repeatable")
    bench.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override one config key of every measured config; repeatable")
    bench.add_argument("--seconds", type=_positive_float, default=BENCH_SECONDS,
                       help="measuring time per candidate, split into 20 interleaved windows (default 3)")
    bench.add_argument("--threads", type=_positive_int,
                       help="torch threads (default: torch's, the physical cores)")
    bench.add_argument("--device", choices=["auto", "cpu", "cuda"],
                       help="where to measure: everything (roofline, floors, steps, textbook) runs there "
                       "(default: the configs' device, auto for all presets but tiny: CUDA when torch sees a GPU)")
    bench.add_argument("--precision", choices=["both", "fp32", "bf16"], default="both",
                       help="which precisions to time, each with its own GEMM floor (bf16: the same products "
                       "in bfloat16); both (the default) also gives bf16's speed over fp32 (vs_fp32) and over "
                       "the fp32 products alone (vs_fp32_floor)")
    bench.add_argument("--json", action="store_true", help="print a JSON list, one object per config and precision")
    bench.add_argument("--to-quality", metavar="PRESET",
                       help="train PRESET until its quality target holds at an in-training eval; report the time")
    bench.add_argument("--max-minutes", type=_positive_float,
                       help="with --to-quality: stop the run after this many minutes (max_seconds) if not reached")
    bench.add_argument("--out", type=Path, help="with --to-quality: the run directory (default runs/<preset>-<time>); "
                       "with --runs: a folder for each run's JSON (run1.json, ...)")
    bench.add_argument("--quiet", action="store_true", help="with --to-quality: no progress bar")
    bench.add_argument("--runs", type=_positive_int, metavar="N",
                       help="measure N times, each in a fresh process, and print each figure's median and range "
                       "over them (as --summarize does)")
    bench.add_argument("--profile", action="store_true",
                       help="instead of timing: the ops that take our step's time, per step, under torch.profiler (CPU)")
    bench.add_argument("--summarize", type=Path, nargs="+", metavar="FILE",
                       help="medians and ranges over the JSON of several `bench --json` runs; measures nothing")
    bench.set_defaults(func=cmd_bench)

    sample = _command(sub, "sample", "draw images from a trained run", """\
Draw N images from a run's final generator: a PNG grid, or an .npz of uint8 images (and the
digits asked for, for a conditional run).""", """\
  counterfeit sample runs/try -n 64 --out grid.png
  counterfeit sample runs/cgan-run --digit 7 -n 100 --out sevens.npz""")
    sample.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    sample.add_argument("-n", "--n", type=_positive_int, default=64, help="number of images (default 64)")
    sample.add_argument("--seed", type=_seed, default=0, help="noise seed (default 0)")
    sample.add_argument("--digit", help="conditional runs: a digit 0-9, or 'all' for a grid of one row per digit")
    sample.add_argument("--out", required=True,
                        help="FILE.png (a grid) or FILE.npz (`images` uint8 N×28×28; `labels` for conditional runs)")
    sample.set_defaults(func=cmd_sample)

    walk = _command(sub, "interpolate", "a latent walk between two noise vectors, as a GIF", """\
Walk G's latent space between two noise vectors picked by --seed, there and back again (a
looping GIF): along the great circle for normal and sphere priors, a straight line for uniform.""", """\
  counterfeit interpolate runs/try --steps 32 --seed 3 --out walk.gif""")
    walk.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    walk.add_argument("--digit", help="conditional runs: walk this digit 0-9 (default: all ten side by side)")
    walk.add_argument("--steps", type=_positive_int, default=32, help="frames from one end to the other (default 32)")
    walk.add_argument("--seed", type=_seed, default=0, help="picks the two ends")
    walk.add_argument("--out", required=True, help="FILE.gif")
    walk.set_defaults(func=cmd_interpolate)

    report = _command(sub, "report", "one HTML page of a run: status, samples, curves, evaluation, config", """\
Write the run's page: status, sample grids with a step slider and the progress GIF, interactive
charts (losses, D outputs, in-training metrics with their floor), eval.json's table and the config.
One self-contained file that opens from file://; training writes it too (report.html).""", """\
  counterfeit report runs/try
  counterfeit report runs/try --out ~/try.html""")
    report.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    report.add_argument("--out", type=Path, help="FILE.html (default RUN_DIR/report.html)")
    report.set_defaults(func=cmd_report)

    compare = _command(sub, "compare", "runs side by side: an HTML page, and the table on the terminal", """\
Compare runs (other presets, lengths or data too): overlaid curves, the final grids, the config
keys that differ and the final metrics with the best of each row marked. An experiment directory
stands for every run up to two levels below it.""", """\
  counterfeit compare runs/mlp2-a runs/dcgan-b --out mlp2-vs-dcgan.html
  counterfeit compare runs/sweep""")
    compare.add_argument("runs", nargs="+", type=Path, metavar="RUN_DIR",
                         help="run directories, or experiment directories holding runs")
    compare.add_argument("--out", type=Path, default=Path("compare.html"), help="FILE.html (default compare.html)")
    compare.set_defaults(func=cmd_compare)

    presets = _command(sub, "presets", "list the presets, one line each", """\
List the shipped presets (TOML files that spell out every config key), one line each.""", """\
  counterfeit presets""")
    presets.set_defaults(func=cmd_presets)

    config = _command(sub, "config", "show the resolved config, every key with its meaning", """\
`config show` prints the config a train command would resolve (preset, then --config,
then --set), one key a line with its meaning and allowed values. The output is valid TOML: save it,
edit it, and train with --config.""", """\
  counterfeit config show --preset dcgan --set lr_g=1e-4 > my.toml
  counterfeit train --config my.toml""")
    config_sub = config.add_subparsers(dest="config_command", required=True, metavar="COMMAND")
    show = _command(config_sub, "show", "print the resolved config with each key's meaning", """\
Print the resolved config (preset, then --config, then --set), one key a line with its meaning
and allowed values, as TOML that --config reads back.""", """\
  counterfeit config show --preset tiny --set steps=500""")
    show.add_argument("--preset", help="a preset name (see `counterfeit presets`); default mlp2")
    show.add_argument("--config", type=Path, help="a TOML config file")
    show.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                      help="override one config key; repeatable")
    show.set_defaults(func=cmd_config_show)

    download = _command(sub, "download", "fetch MNIST, Fashion-MNIST or KMNIST as IDX files (needs internet)", """\
Fetch a dataset's four standard IDX .gz files (60k train / 10k test) from its public mirror into
the cache folder, resumably (run it again after a cut), each checked against the md5 pinned in the
code before it is put in place; `train --data NAME` then trains on them.""", """\
  counterfeit download --dataset fashion-mnist
  counterfeit train --preset dcgan --data fashion-mnist""")
    download.add_argument("--dataset", choices=["mnist", "fashion-mnist", "kmnist"], default="mnist")
    download.add_argument("--dir", type=Path, help="where to put the .gz files (default: the cache folder, "
                          "where --data NAME finds them)")
    download.add_argument("--base-url", help="a mirror to use instead of the default")
    download.set_defaults(func=cmd_download)

    evaluate = _command(sub, "eval", "judge a run or a samples file against real digits, beside the real floor", """\
Judge N samples of a run's final generator (also written to RUN_DIR/eval.json) or of an .npz
against real digits: FID, KID, precision, recall, density, coverage, classes, memorisation and
diversity, each beside the same metric for held-out real digits (the floor). --real prints the
floor alone. A Stacked MNIST run (3 channels) gets modes_covered and mode_kl instead: each channel
read as a digit, on 26,000 samples by default, beside the same for fresh real stacked images.""", """\
  counterfeit eval runs/try -n 2000
  counterfeit eval samples.npz --json""")
    evaluate.add_argument("target", nargs="?", type=Path, metavar="RUN_DIR|SAMPLES.npz")
    evaluate.add_argument("--real", action="store_true", help="only the floor: held-out real images vs the reference")
    evaluate.add_argument("-n", "--n", type=_positive_int,
                          help="sample size (default 2000; 26000 for stacked-mnist, as in the literature)")
    evaluate.add_argument("--seed", type=_seed, default=0, help="noise seed when sampling a run (default 0)")
    evaluate.add_argument("--per-class", type=_positive_int, default=1000,
                          help="conditional runs: samples asked for each digit (default 1000)")
    evaluate.add_argument("--data", help="real data (as train --data); default: the run's data, else embedded MNIST")
    _add_data_options(evaluate, "--data")
    evaluate.add_argument("--json", action="store_true", help="one JSON object on stdout instead of a table")
    evaluate.add_argument("--evaluator", type=Path, help=argparse.SUPPRESS)  # a weights file, for checks
    evaluate.set_defaults(func=cmd_eval)

    evaluator = _command(sub, "evaluator", "the evaluator networks behind the metrics (one per dataset)", """\
The small CNN whose features and class probabilities every metric reads, one per dataset: the
MNIST one ships with the package, others are trained into the cache folder with --data. `info`
shows its accuracy, split and checksum; `train` trains (or without --data rebuilds) it.""", """\
  counterfeit evaluator info
  counterfeit evaluator train --data fashion-mnist""")
    evaluator_sub = evaluator.add_subparsers(dest="evaluator_command", required=True, metavar="COMMAND")
    ev_train = _command(evaluator_sub, "train", "train it on a dataset's fixed split (deterministic)", """\
Train the evaluator on the fixed split of a dataset (deterministic) and write its weights and
record: with --data into the cache folder under the data's fingerprint, where eval finds it;
without, the shipped MNIST weights from the embedded digits (a differing sha256 is reported).""", """\
  counterfeit evaluator train --data fashion-mnist
  counterfeit evaluator train --out /tmp/evaluator --epochs 2""")
    ev_train.add_argument("--data", help="the dataset (as train --data); its evaluator goes into the cache folder")
    _add_data_options(ev_train, "--data")
    ev_train.add_argument("--out", type=Path, help="directory for the weights and JSON (default: the package's, "
                          "or with --data the cache folder under the data's fingerprint)")
    ev_train.add_argument("--epochs", type=_positive_int, help="default 12")
    ev_train.set_defaults(func=cmd_evaluator_train)
    ev_info = _command(evaluator_sub, "info", "accuracy, split and sha256 of an evaluator", """\
Show the evaluator's held-out accuracy, data split and sha256 (verified against the weights): the
shipped MNIST one, or with --data the one matching that data.""", """\
  counterfeit evaluator info --data fashion-mnist""")
    ev_info.add_argument("--data", help="the dataset whose evaluator to describe (as train --data)")
    _add_data_options(ev_info, "--data")
    ev_info.add_argument("--evaluator", type=Path, help=argparse.SUPPRESS)
    ev_info.set_defaults(func=cmd_evaluator_info)

    experiment = _command(sub, "experiment", "variants over seeds, compared with confidence intervals", """\
Train every variant of an experiment file with each of its seeds (each an ordinary run directory),
judge every run, and summarise: per variant the mean and 95% interval over seeds of each metric
beside the real floor, each variant against the baseline, the time to a threshold, curves. See
docs/experiments.md.""", """\
  counterfeit experiment run experiments/d_minimax_loss.toml --workers 2
  counterfeit experiment summary runs/experiments/d_minimax_loss""")
    experiment_sub = experiment.add_subparsers(dest="experiment_command", required=True, metavar="COMMAND")
    ex_run = _command(experiment_sub, "run", "run (or continue) every variant and seed of an experiment file", """\
Run every (variant, seed) of FILE.toml not yet done, on worker processes or Ray, then write
summary.json, summary.md and curves.png. The same command again continues: done and failed runs
stay (failed ones run again with --retry-failed), interrupted ones resume from their checkpoints.
Prints the experiment directory.""", """\
  counterfeit experiment run experiments/f_which_model.toml --workers 2
  counterfeit experiment run experiments/f_which_model.toml --retry-failed
  counterfeit experiment run my.toml --backend ray --address 10.0.0.1:6379 --out /shared/my""")
    ex_run.add_argument("file", type=Path, metavar="FILE.toml")
    ex_run.add_argument("--out", type=Path, help="experiment directory (default runs/experiments/<file name>)")
    ex_run.add_argument("--workers", type=_positive_int,
                        help="runs at a time (default: the cores / the file's threads per run)")
    ex_run.add_argument("--backend", choices=["local", "ray"], default="local",
                        help="local: worker processes here (default); ray: Ray tasks (pip install 'counterfeit[ray]')")
    ex_run.add_argument("--address", help="--backend ray: the cluster to join (default: start a local instance)")
    ex_run.add_argument("--retry-failed", action="store_true",
                        help="run failed runs again (from their checkpoints); each failure's result.json is kept "
                             "as result.failed.json")
    ex_run.set_defaults(func=cmd_experiment_run)
    ex_summary = _command(experiment_sub, "summary", "(re)write and print an experiment directory's summary", """\
Rewrite DIR's summary.json, summary.md and curves.png from its runs as they are now (finished or
not) and print summary.md, or summary.json with --json.""", """\
  counterfeit experiment summary runs/experiments/d_minimax_loss --json""")
    ex_summary.add_argument("dir", type=Path, metavar="DIR")
    ex_summary.add_argument("--json", action="store_true", help="print summary.json instead of summary.md")
    ex_summary.set_defaults(func=cmd_experiment_summary)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    code = _main(argv)
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        # A torchrun worker whose work is done (its files written and synced, the process group
        # left together) ends here, without the interpreter's teardown: gloo's threads torn down
        # during it aborted a rank ("terminate called without an active exception", SIGABRT) in
        # about one resume in fifteen, after it had printed its run directory.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    if "_ARGCOMPLETE" in os.environ:  # a shell asks for completions (pip install 'counterfeit[completion]')
        _complete(parser)
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except TrainingStopped as err:  # Ctrl-C: not an error, the message says how to go on
        if _is_main_rank():  # under torchrun, once: every rank stops, and rank 0's message names the run
            print(f"counterfeit {args.command}: {err}", file=sys.stderr)
        return err.exit_code
    except UserError as err:
        print(f"counterfeit {args.command}: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print(f"counterfeit {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `counterfeit config show | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit's flush cannot fail too
        return 128 + 13  # as if killed by SIGPIPE, as other command-line tools are
    except OSError as err:
        if err.filename is None:  # not about a file the user named: a bug, keep its traceback
            raise
        print(f"counterfeit {args.command}: error: {err.filename}: {err.strerror}", file=sys.stderr)
        return UserError.exit_code


def _complete(parser: argparse.ArgumentParser) -> None:
    try:
        import argcomplete
    except ImportError:
        return
    argcomplete.autocomplete(parser)  # prints the completions and exits


if __name__ == "__main__":
    sys.exit(main())
