"""Long-running fuzzer of the ``core.imaging`` readers, driven by hypothesis (a developer tool).

    .venv/bin/python bench/fuzz_readers.py --minutes 10 [--seed 1] [--out /tmp/fuzz-failures]

The unit test ``tests/unit/test_fuzz_readers.py`` runs a fixed few hundred mutants in CI; this
script searches for minutes: hypothesis draws a shared file and a list of mutations (byte
writes, truncation, hostile DICOM element values, NIfTI header fields), loads the result and
requires the contract: it loads, or ``InputError`` with one line of at most 300 characters that
echoes no PatientName / PatientID of the source. A counter-example is shrunk by hypothesis,
which prints it (the seed file's index and the mutation steps); its error is written under ``--out``.

It runs in a process that imported only ``core.imaging``, under a 3 GiB address-space limit
(like the hidden checks), with a per-case alarm; the last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import resource
import signal
import sys
import time
import zlib
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


class CaseTimeout(Exception):
    """A single case ran past its alarm."""


def _alarm(signum: int, frame: object) -> None:
    raise CaseTimeout()


def _peak_mb() -> float:
    """This process's own peak RSS (VmHWM; ru_maxrss would include a parent's over fork + exec)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=None, help="fix hypothesis' random seed (default: random)")
    parser.add_argument("--case-seconds", type=int, default=30, help="alarm per case")
    parser.add_argument("--as-gib", type=float, default=3.0, help="address-space limit of this process")
    parser.add_argument("--out", type=Path, default=Path("/tmp/medlens-fuzz-failures"))
    args = parser.parse_args(argv)

    limit = int(args.as_gib * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.signal(signal.SIGALRM, _alarm)

    import numpy as np
    from hypothesis import HealthCheck, Phase, given, seed, settings
    from hypothesis import strategies as st

    import core.imaging as imaging
    from core.errors import InputError
    from core.paths import shared_data_dir
    from tests import hostile

    assert "torch" not in sys.modules, "core.imaging must not import torch"
    seeds = hostile.default_seeds(shared_data_dir(), small=False)
    stats: Counter[str] = Counter()
    failures: list[dict[str, str]] = []

    ops = st.one_of(
        st.tuples(st.just("write"), st.integers(0, 2**20), st.binary(min_size=1, max_size=8)),
        st.tuples(st.just("truncate"), st.floats(0.0, 1.0)),
        st.tuples(st.just("tag"), st.sampled_from(hostile.DICOM_TAG_EDITS), st.sampled_from(hostile.EDIT_KINDS)),
        st.tuples(st.just("nifti"), st.integers(0, 2**31)),
    )

    def apply(src: hostile.Seed, steps: list[tuple]) -> bytes:
        data = src.data
        for step in steps:
            if step[0] == "write" and data:
                pos = step[1] % len(data) if step[1] > 4096 else min(step[1], len(data) - 1)
                data = data[:pos] + step[2] + data[pos + len(step[2]):]
            elif step[0] == "truncate":
                data = data[: int(len(data) * step[1])]
            elif step[0] == "tag" and src.kind == "dicom":
                rng = np.random.default_rng(zlib.crc32(repr(step).encode()))
                data = hostile.mutate_dicom_tags(data, rng) if len(data) > 132 else data
            elif step[0] == "nifti" and src.kind == "nifti" and len(data) >= 352:
                data = hostile.mutate_nifti_header(data, np.random.default_rng(step[1]))
        return data

    @settings(max_examples=200, deadline=None, database=None, phases=[Phase.generate, Phase.shrink],
              suppress_health_check=list(HealthCheck))
    @given(st.integers(0, len(seeds) - 1), st.lists(ops, min_size=1, max_size=4))
    def case(index: int, steps: list[tuple]) -> None:
        src = seeds[index]
        data = apply(src, steps)
        signal.alarm(args.case_seconds)
        try:
            imaging.load(data, name="fuzz" + Path(src.name).suffix)
            stats["loaded"] += 1
        except InputError as exc:
            stats["refused"] += 1
            outcome = hostile.Outcome("case", "refused", str(exc))
            why = hostile.check_outcome(outcome, src.secrets)
            assert why is None, f"{why}: {str(exc)[:200]}"
        finally:
            signal.alarm(0)

    start = time.monotonic()
    rounds = 0
    while time.monotonic() - start < args.minutes * 60:
        test = seed(args.seed + rounds)(case) if args.seed is not None else case
        try:
            test()
        except BaseException as exc:  # noqa: BLE001 - a counter-example (already shrunk by hypothesis)
            if isinstance(exc, KeyboardInterrupt):
                break
            stats["unexpected"] += 1
            args.out.mkdir(parents=True, exist_ok=True)
            note = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
            failures.append({"round": str(rounds), "error": note})
            (args.out / f"failure-{rounds:04d}.txt").write_text(note + "\n")
        rounds += 1
    print(json.dumps({"minutes": round((time.monotonic() - start) / 60, 2), "rounds": rounds,
                      "cases": stats["loaded"] + stats["refused"] + stats["unexpected"], **stats,
                      "unexpected": stats["unexpected"], "failures": failures[:20],
                      "max_rss_mb": _peak_mb()}))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
