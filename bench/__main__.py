"""``python -m bench [--only NAME ...] [--json]``: run benchmarks, write bench/RESULTS.md.

Results of earlier runs of other benchmarks are kept (bench/results.json) so that
``--only`` updates one row without dropping the rest.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import traceback
from pathlib import Path

from bench.runner import discover

HERE = Path(__file__).resolve().parent
RESULTS_JSON = HERE / "results.json"
RESULTS_MD = HERE / "RESULTS.md"


def environment() -> dict[str, str]:
    import numpy
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, {torch.get_num_threads()} torch threads",
        "gpu": gpu,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
    }


def _format(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def write_markdown(results: dict[str, dict]) -> None:
    lines = [
        "# Benchmark results",
        "",
        "Written by `python -m bench`. Candidates are timed alternately in one process; the claims",
        "are the ratios (the machines are noisy). Each row gives the environment it ran in.",
        "",
        "| benchmark | ratio | what the ratio is | medians and other figures | date | machine |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in sorted(results.items()):
        env = row.get("env", {})
        skip = {"ratio", "ratio_meaning", "env"}
        details = "; ".join(f"{k}={_format(v)}" for k, v in row.items() if k not in skip)
        lines.append(
            f"| {name} | {_format(row.get('ratio'))} | {row.get('ratio_meaning', '')} | {details} | "
            f"{env.get('date', '')} | {env.get('machine', '')}; GPU {env.get('gpu', '')}; torch {env.get('torch', '')} |"
        )
    for section in sorted((HERE / "sections").glob("*.md")):  # detailed tables some benchmarks write
        lines += ["", section.read_text().rstrip()]
    RESULTS_MD.write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", action="append", help="run only this benchmark (repeatable)")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON line last")
    args = parser.parse_args(argv)

    benchmarks = discover()
    names = args.only or sorted(benchmarks)
    unknown = [n for n in names if n not in benchmarks]
    if unknown:
        sys.stderr.write(f"error: unknown benchmark(s) {', '.join(unknown)}; valid: {', '.join(sorted(benchmarks))}\n")
        return 2

    stored = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() else {}
    env = environment()
    results: dict[str, dict] = {}
    status = 0
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        try:
            row = benchmarks[name]()
        except Exception as exc:  # one failing benchmark does not lose the others
            traceback.print_exc()
            row = {"ratio": None, "error": f"{type(exc).__name__}: {exc}"}
            status = 1
        row["env"] = env
        results[name] = row
        print(f"{name}: {json.dumps(row, default=str)}", file=sys.stderr, flush=True)

    stored.update(results)
    RESULTS_JSON.write_text(json.dumps(stored, indent=2, default=str) + "\n")
    write_markdown(stored)
    if args.json:
        print(json.dumps(results, default=str))
    return status


if __name__ == "__main__":
    sys.exit(main())
