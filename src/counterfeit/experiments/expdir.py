"""The experiment directory: the record of one experiment, and a run directory per (variant, seed).

    experiment.toml             the experiment file as written
    experiment.json             its fingerprint and everything the results depend on (`canonical`)
    events.jsonl                one line per invocation and per run that ended (done, failed, interrupted)
    <variant>/seed-<s>/         an ordinary run directory (`eval`, `sample`, `--resume` work on it),
                                plus result.json once the run is done or has failed
                                (result.failed*.json: failures that --retry-failed set aside)
    summary.json, summary.md, curves.png

A directory holding anything else is refused untouched, and so is one holding this experiment
as it was before its file changed: results of two different experiments never mix.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

from counterfeit.config import Config
from counterfeit.errors import UserError
from counterfeit.experiments.spec import Experiment
from counterfeit.fileio import atomic_write_text
from counterfeit.rundir import is_run_dir, read_jsonl

COPY_FILE = "experiment.toml"
RECORD_FILE = "experiment.json"
EVENTS_FILE = "events.jsonl"
RESULT_FILE = "result.json"  # in each run directory
SUMMARY_JSON, SUMMARY_MD, CURVES_PNG = "summary.json", "summary.md", "curves.png"
FORMAT = "counterfeit-experiment-1"
FINAL_STATUSES = ("done", "failed")  # what a result.json records; a run without one goes on
RESULT_AGAIN = "delete it, and `experiment run` resumes the run and judges it again"


def default_out(experiment: Experiment, root: Path = Path("runs/experiments")) -> Path:
    """Not timestamped: the same command finds the same directory, and so continues it."""
    return root / experiment.name


def run_path(root: Path, variant: str, seed: int) -> Path:
    return root / variant / f"seed-{seed}"


def read_record(root: Path) -> dict[str, Any]:
    path = root / RECORD_FILE
    try:
        record = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise UserError(f"{root}: not an experiment directory (no {RECORD_FILE})") from None
    except (OSError, ValueError) as err:
        raise UserError(f"{path}: unreadable ({err.__class__.__name__})") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise UserError(f"{path}: not a {FORMAT} record")
    return record


def open_experiment(root: Path, experiment: Experiment) -> None:
    """Record the experiment in `root` (new or empty), or check that `root` holds this same
    experiment; anything else is refused with nothing touched."""
    if root.exists() and not root.is_dir():
        raise UserError(f"--out {root}: exists and is not a directory")
    if (root / RECORD_FILE).exists():
        saved = read_record(root)
        if saved.get("fingerprint") != experiment.fingerprint():
            spec = without_added_defaults(experiment.canonical(), saved["spec"])
            if spec != saved["spec"]:
                change = first_change(saved["spec"], spec)
                raise UserError(f"{experiment.path}: changed since {root} ran it ({change}); results of the two "
                                "would mix: restore the file or choose another --out")
        return
    if root.is_dir() and any(root.iterdir()):
        what = "is a run directory" if is_run_dir(root) else "is not empty and holds no experiment"
        raise UserError(f"--out {root}: {what}; choose a new directory")
    root.mkdir(parents=True, exist_ok=True)
    atomic_write_text(root / COPY_FILE, experiment.text)
    record = {"format": FORMAT, "name": experiment.name, "file": str(experiment.path),
              "description": experiment.description, "fingerprint": experiment.fingerprint(),
              "budget_rule": experiment.budget.rule(), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "spec": experiment.canonical()}
    atomic_write_text(root / RECORD_FILE, json.dumps(record, indent=1) + "\n")


# each config key's default, as experiment.json holds values (JSON: tuples as lists)
CONFIG_DEFAULTS = json.loads(json.dumps({f.name: f.default for f in fields(Config) if f.default is not MISSING}))
_NONE = object()  # a key without a default: equal to no value


def without_added_defaults(spec: dict[str, Any], saved: dict[str, Any]) -> dict[str, Any]:
    """`spec` without the config keys its variants have and `saved`'s do not, where the variant
    holds the key's default: a key added to counterfeit since the experiment ran (`lr_decay`, say)
    whose default is what every run did before. Set to anything else, it stays, and is a change."""
    saved_variants = saved.get("variants")
    if not isinstance(saved_variants, dict):
        return spec
    variants = {}
    for name, values in spec["variants"].items():
        before = saved_variants.get(name)
        variants[name] = values if not isinstance(before, dict) else {
            key: value for key, value in values.items() if key in before or value != CONFIG_DEFAULTS.get(key, _NONE)}
    return {**spec, "variants": variants}


def first_change(before: Any, after: Any, where: str = "") -> str:
    """The first key whose value differs, with both values, and how many more differ."""
    changes = _changes(before, after, where)
    more = f"; and {len(changes) - 1} more" if len(changes) > 1 else ""
    return (changes[0] if changes else "no key differs") + more


def _changes(before: Any, after: Any, where: str) -> list[str]:
    if isinstance(before, dict) and isinstance(after, dict):
        found: list[str] = []
        for key in dict.fromkeys([*before, *after]):
            inner = f"{where}.{key}" if where else str(key)
            if key not in after:
                found.append(f"{inner} was removed")
            elif key not in before:
                found.append(f"{inner} was added")
            else:
                found += _changes(before[key], after[key], inner)
        return found
    return [] if before == after else [f"{where} was {json.dumps(before)}, is now {json.dumps(after)}"]


def append_event(root: Path, event: dict[str, Any]) -> None:
    """One line at the end of events.jsonl. Only the runner appends, holding the experiment's lock."""
    path = root / EVENTS_FILE
    _drop_cut_line(path)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **event}) + "\n")


def _drop_cut_line(path: Path) -> None:
    """Cut off a last line that a kill -9 left half-written: what follows would be glued onto it,
    and, once followed, it could no longer be told from damage. It never was a whole record."""
    if not path.exists() or path.stat().st_size == 0:
        return
    data = path.read_bytes()
    if not data.endswith(b"\n"):
        os.truncate(path, data.rfind(b"\n") + 1)


def read_events(root: Path) -> list[dict[str, Any]]:
    return read_jsonl(root / EVENTS_FILE)


def read_result(run: Path) -> dict[str, Any] | None:
    """A run's result.json (written atomically, so whole or absent: anything else was damaged
    after the fact, and is refused rather than run over)."""
    path = run / RESULT_FILE
    if not path.exists():
        return None
    try:
        result = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as err:
        raise UserError(f"{path}: unreadable ({err.__class__.__name__}); {RESULT_AGAIN}") from None
    if not isinstance(result, dict) or result.get("status") not in FINAL_STATUSES:
        raise UserError(f"{path}: not a run's result (no status {' or '.join(FINAL_STATUSES)}); {RESULT_AGAIN}")
    return result


def retire_failure(run: Path) -> Path:
    """Moves a failed run's result.json aside (result.failed.json, then .failed-2.json, ...), so the
    run counts as interrupted (or pending) and runs again; the failure stays on record beside it."""
    target, n = run / "result.failed.json", 1
    while target.exists():
        n += 1
        target = run / f"result.failed-{n}.json"
    (run / RESULT_FILE).rename(target)
    return target


def run_status(run: Path) -> str:
    """done or failed (final: never run again), interrupted (resumes), or pending (starts)."""
    result = read_result(run)
    if result is not None:
        return str(result["status"])
    return "interrupted" if is_run_dir(run) else "pending"
