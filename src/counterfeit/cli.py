"""Command line: parse arguments, build a config, call into the package. No logic of its own."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, NoReturn, Sequence

from counterfeit.errors import UserError
from counterfeit.train.interrupt import TrainingStopped
from counterfeit.train.rundir import REPORT_FILE


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit 2), like every other bad input."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


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
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def cmd_train(args: argparse.Namespace) -> int:
    from counterfeit.config import parse_set, read_toml, resolve
    from counterfeit.train.loop import resume, train

    overrides: dict[str, object] = dict(parse_set(args.set))
    for key in ("steps", "seed", "data", "device"):
        if getattr(args, key) is not None:
            overrides[key] = getattr(args, key)
    if args.resume is not None:
        if args.out is not None:
            raise UserError(f"--out {args.out}: cannot be combined with --resume (the run directory)")
        # Every option given must agree with the run's config; resume() names a disagreement.
        given = {**(read_toml(args.config) if args.config else {}), **overrides}
        run_dir = resume(args.resume, {**given, **({"preset": args.preset} if args.preset else {})},
                         quiet=args.quiet)
    else:
        config = resolve(preset=args.preset, config_file=args.config, overrides=overrides)
        run_dir = train(config, out=args.out, quiet=args.quiet)
    sys.stdout.write(f"{run_dir}\n")  # one write: under torchrun every rank prints it at once, unbuffered
    sys.stdout.flush()
    report = run_dir / REPORT_FILE
    if not args.quiet and report.is_file():  # stdout keeps its one line, the run directory
        print(f"report: {report}", file=sys.stderr)
    return 0


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
    from counterfeit.bench.run import format_table
    from counterfeit.config import parse_set, preset_names, resolve

    overrides = parse_set(args.set)
    presets = args.preset or ([] if args.config else [p for p in ("mlp2", "mlp4") if p in preset_names()])
    configs = [resolve(preset=name, overrides=overrides) for name in presets]
    configs += [resolve(config_file=path, overrides=overrides) for path in args.config]
    results = bench(configs, seconds=args.seconds, threads=args.threads)
    print(json.dumps(results, indent=1) if args.json else format_table(results))
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from counterfeit.labels import parse_digit
    from counterfeit.sampling import draw, load_generator, save_samples

    if args.digit is not None:
        parse_digit(args.digit)  # a bad --digit fails before anything is loaded
    if Path(args.out).suffix.lower() not in (".png", ".npz"):
        raise UserError(f"--out {args.out}: expected a .png or .npz file name")
    generator, config = load_generator(args.run_dir)
    samples = draw(generator, config, args.n, seed=args.seed, digit=args.digit)
    save_samples(samples.images, args.out, samples.labels, samples.columns)
    print(args.out)
    return 0


def cmd_interpolate(args: argparse.Namespace) -> int:
    from counterfeit.interpolate import latent_walk, save_walk
    from counterfeit.labels import parse_digit
    from counterfeit.sampling import load_generator

    digit = None if args.digit is None else parse_digit(args.digit)
    if Path(args.out).suffix.lower() != ".gif":
        raise UserError(f"--out {args.out}: expected a .gif file name")
    generator, config = load_generator(args.run_dir)
    save_walk(latent_walk(generator, config, args.steps, seed=args.seed, digit=digit), config, args.out)
    print(args.out)
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    from counterfeit.config import preset_description, preset_names

    names = preset_names()
    width = max(map(len, names))
    for name in names:
        print(f"{name:<{width}}  {preset_description(name)}")
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from counterfeit.data import download_mnist

    for path in download_mnist(args.dir, dataset=args.dataset, base_url=args.base_url):
        print(path)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    import json

    from counterfeit.metrics.evaluate import evaluate_path, evaluate_real
    from counterfeit.metrics.evaluator import load_evaluator

    if args.real == (args.target is not None):
        raise UserError("give either RUN_DIR|SAMPLES.npz or --real")
    evaluator = load_evaluator(args.evaluator)
    if args.real:
        report = evaluate_real(args.data, args.n, evaluator)
    else:
        report = evaluate_path(args.target, args.n, args.seed, args.data, evaluator, args.per_class)
    print(json.dumps(report.to_json()) if args.json else report.table())
    return 0


def cmd_evaluator_train(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from counterfeit.metrics.evaluator import EVALUATOR_SHA256, weights_path
    from counterfeit.metrics.evaluator_train import TrainSettings, train_evaluator

    out = args.out or weights_path().parent
    settings = TrainSettings() if args.epochs is None else replace(TrainSettings(), epochs=args.epochs)
    record = train_evaluator(out, settings, log=lambda line: print(line, file=sys.stderr, flush=True))
    print(f"held-out accuracy {record['heldout_accuracy']:.4f}, {record['train_seconds']:.0f} s; "
          f"wrote {out}; sha256 {record['sha256']}")
    if record["sha256"] != EVALUATOR_SHA256:
        print("note: this differs from EVALUATOR_SHA256 in counterfeit/metrics/evaluator.py; "
              "set it to ship these weights", file=sys.stderr)
    return 0


def cmd_evaluator_info(args: argparse.Namespace) -> int:
    from counterfeit.metrics.evaluator import load_evaluator, read_record, weights_path

    evaluator = load_evaluator(args.evaluator)  # checks the sha256
    record = read_record((args.evaluator or weights_path()).with_name("evaluator.json"))
    split = record["split"]
    print(f"weights   {args.evaluator or weights_path()}")
    print(f"sha256    {evaluator.sha256} (verified)")
    print(f"accuracy  {record['heldout_accuracy']:.2%} on {split['heldout']} held-out digits "
          f"(train {record['train_accuracy']:.2%} on {split['train']})")
    print(f"data      {record['data']} (fingerprint {record['data_fingerprint']})")
    print(f"split     {split['method']}; indices sha256 {split['indices_sha256'][:16]}...")
    print(f"trained   by `{record['command']}` in {record['train_seconds']:.0f} s "
          f"(torch {record['torch']}, {record['torch_threads']} threads)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="counterfeit", description="Train, watch and judge GANs on MNIST-like images.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = sub.add_parser("train", help="train a GAN; prints the run directory")
    train.add_argument("--preset", help="a preset name (see `counterfeit presets`); default mlp2")
    train.add_argument("--config", type=Path, help="a TOML config file (e.g. a copied preset)")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override one config key; repeatable (e.g. --set lr_g=2e-4)")
    train.add_argument("--steps", type=_positive_int, help="number of training steps (updates of D and G)")
    train.add_argument("--seed", type=_int, help="seed for every random number of the run")
    train.add_argument("--out", type=Path, help="run directory (default runs/<preset>-<time>)")
    train.add_argument("--data", help="an IDX images file (raw or .gz) or an .npz; default: embedded MNIST")
    train.add_argument("--device", choices=["auto", "cpu", "cuda"],
                       help="where to train (default: the config's, `auto` = CUDA when available)")
    train.add_argument("--resume", type=Path, metavar="RUN_DIR",
                       help="continue a run from its latest checkpoint (with --steps N: to step N)")
    train.add_argument("--quiet", action="store_true", help="print only the run directory")
    train.set_defaults(func=cmd_train)

    bench = sub.add_parser("bench", help="time our training step against the GEMM floor, sgemm and a textbook loop")
    bench.add_argument("--preset", action="append", default=[],
                       help="a preset to measure; repeatable (default: mlp2 and mlp4, where present)")
    bench.add_argument("--config", type=Path, action="append", default=[],
                       help="a TOML config file to measure; repeatable")
    bench.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override one config key of every measured config; repeatable")
    bench.add_argument("--seconds", type=_positive_float, default=3.0,
                       help="measuring time per candidate, split into 20 interleaved windows (default 3)")
    bench.add_argument("--threads", type=_positive_int,
                       help="torch threads (default: torch's, the physical cores)")
    bench.add_argument("--json", action="store_true", help="print a JSON list, one object per config")
    bench.set_defaults(func=cmd_bench)

    sample = sub.add_parser("sample", help="draw images from a trained run")
    sample.add_argument("run_dir", type=Path)
    sample.add_argument("-n", type=_positive_int, default=64, help="number of images (default 64)")
    sample.add_argument("--seed", type=_int, default=0)
    sample.add_argument("--digit", help="conditional runs: a digit 0-9, or 'all' for a grid of one row per digit")
    sample.add_argument("--out", required=True,
                        help="FILE.png (a grid) or FILE.npz (`images` uint8 N×28×28; `labels` for conditional runs)")
    sample.set_defaults(func=cmd_sample)

    walk = sub.add_parser("interpolate", help="a latent walk between two noise vectors, as a GIF")
    walk.add_argument("run_dir", type=Path)
    walk.add_argument("--digit", help="conditional runs: walk this digit 0-9 (default: all ten side by side)")
    walk.add_argument("--steps", type=_positive_int, default=32, help="frames from one end to the other (default 32)")
    walk.add_argument("--seed", type=_int, default=0, help="picks the two ends")
    walk.add_argument("--out", required=True, help="FILE.gif")
    walk.set_defaults(func=cmd_interpolate)

    report = sub.add_parser("report", help="one HTML page of a run: status, samples, curves, evaluation, config")
    report.add_argument("run_dir", type=Path)
    report.add_argument("--out", type=Path, help="FILE.html (default RUN_DIR/report.html)")
    report.set_defaults(func=cmd_report)

    compare = sub.add_parser("compare", help="runs side by side: an HTML page, and the table on the terminal")
    compare.add_argument("runs", nargs="+", type=Path, metavar="RUN_DIR",
                         help="run directories, or experiment directories holding runs (two levels down at most)")
    compare.add_argument("--out", type=Path, default=Path("compare.html"), help="FILE.html (default compare.html)")
    compare.set_defaults(func=cmd_compare)

    presets = sub.add_parser("presets", help="list the presets, one line each")
    presets.set_defaults(func=cmd_presets)
    download = sub.add_parser("download", help="fetch the full MNIST or Fashion-MNIST IDX files (needs internet)")
    download.add_argument("--dataset", choices=["mnist", "fashion-mnist"], default="mnist")
    download.add_argument("--dir", type=Path, default=Path("data"), help="where to put the .gz files (default data/)")
    download.add_argument("--base-url", help="a mirror to use instead of the default")
    download.set_defaults(func=cmd_download)

    evaluate = sub.add_parser("eval", help="judge a run or a samples file against real digits, beside the real floor")
    evaluate.add_argument("target", nargs="?", type=Path, metavar="RUN_DIR|SAMPLES.npz")
    evaluate.add_argument("--real", action="store_true", help="only the floor: held-out real images vs the reference")
    evaluate.add_argument("--n", type=_positive_int, default=2000, help="sample size (default 2000)")
    evaluate.add_argument("--seed", type=_int, default=0, help="noise seed when sampling a run (default 0)")
    evaluate.add_argument("--per-class", type=_positive_int, default=1000,
                          help="conditional runs: samples asked for each digit (default 1000)")
    evaluate.add_argument("--data", help="real data (IDX or .npz); default: the run's data, else embedded MNIST")
    evaluate.add_argument("--json", action="store_true", help="one JSON object on stdout instead of a table")
    evaluate.add_argument("--evaluator", type=Path, help=argparse.SUPPRESS)  # a weights file, for checks
    evaluate.set_defaults(func=cmd_eval)

    evaluator = sub.add_parser("evaluator", help="the MNIST evaluator network behind the metrics")
    evaluator_sub = evaluator.add_subparsers(dest="evaluator_command", required=True, parser_class=_Parser)
    ev_train = evaluator_sub.add_parser("train", help="retrain it on the fixed split (deterministic, a few minutes)")
    ev_train.add_argument("--out", type=Path, help="directory for the weights and JSON (default: the package's)")
    ev_train.add_argument("--epochs", type=_positive_int, help="default 12")
    ev_train.set_defaults(func=cmd_evaluator_train)
    ev_info = evaluator_sub.add_parser("info", help="accuracy, split and sha256 of the shipped weights")
    ev_info.add_argument("--evaluator", type=Path, help=argparse.SUPPRESS)
    ev_info.set_defaults(func=cmd_evaluator_info)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except TrainingStopped as err:  # Ctrl-C: not an error, the message says how to go on
        print(f"counterfeit {args.command}: {err}", file=sys.stderr)
        return err.exit_code
    except UserError as err:
        print(f"counterfeit {args.command}: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print(f"counterfeit {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
