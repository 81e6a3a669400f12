"""Labeling by a team: 8 writers (different users) on one image for 30 s, on SQLite and PostgreSQL.

``python -m bench.bench_labeling [--seconds 30] [--writers 8]`` runs
``core.labeling.concurrency.run_writers`` on a fresh database of each backend (PostgreSQL: the
URL in ``MEDLENS_BENCH_PG_URL``, else a throwaway cluster from Debian's ``postgresql`` as the
tests start it; skipped with the reason when there is none) and writes the table to
``bench/sections/labeling.md``, which it also puts into ``bench/RESULTS.md`` (replacing an older
copy of the section). Figures: edits acknowledged, present in the final mask, refused with a
message, lost, and the share present-or-refused (must be 100%) and refused (must be < 1%).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from core.db import make_engine, migrate
from core.imaging import MedImage
from core.labeling import LabelingStore
from core.labeling.concurrency import Report, run_writers

HERE = Path(__file__).resolve().parent
SECTION = HERE / "sections" / "labeling.md"
RESULTS_MD = HERE / "RESULTS.md"
TITLE = "## Labeling: concurrent writers on one image"


def run_backend(url: str, writers: int, seconds: float) -> Report:
    engine = make_engine(url)
    migrate(engine)
    try:
        store = LabelingStore(engine)
        session = store.create_session("bench", ["lung"])
        image_id = store.add_image(session.id, MedImage(pixels=np.zeros((1, 256, 256), np.float32), name="shared"),
                                   "shared")
        return run_writers(store, image_id, "lung", writers=writers, seconds=seconds, seed=7)
    finally:
        engine.dispose()


def _pg_url() -> tuple[str | None, object | None, str]:
    url = os.environ.get("MEDLENS_BENCH_PG_URL")
    if url:
        return url, None, ""
    try:
        sys.path.insert(0, str(HERE.parent))
        from tests.postgres import create_database, start_cluster

        cluster = start_cluster()
        name = f"bench_labeling_{int(time.time())}"
        create_database(cluster.url(), name)
        return cluster.url(name), cluster, ""
    except (ImportError, RuntimeError, OSError) as exc:
        return None, None, str(exc)


def section(rows: list[tuple[str, Report | str]], writers: int, seconds: float) -> str:
    date = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [TITLE, "",
             f"`python -m bench.bench_labeling --writers {writers} --seconds {seconds:g}` ({date}; "
             f"{platform.machine()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}). "
             "Each writer is a different user (a thread with its own store object); brush and eraser "
             "discs (radius 2-8 px) on a 256x256 frame, undo of its own latest edit (3%), re-sending an "
             "edit id it sent before (3%). Checked: every acknowledged edit is in the final mask (unless a "
             "later eraser took it out) or was refused with a message.", "",
             "| backend | seconds | edits acknowledged | present in final mask | refused with message | lost | "
             "present or refused | refused | undos | re-sent ids applied twice |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for backend, report in rows:
        if isinstance(report, str):
            lines.append(f"| {backend} | skipped: {report} | | | | | | | | |")
            continue
        lines.append(f"| {backend} | {report.seconds:.1f} | {report.acknowledged} | {report.present} | "
                     f"{report.refused} | {report.lost} | {report.present_or_refused_pct:.2f}% | "
                     f"{report.refused_pct:.2f}% | {report.undos} | {report.resent_applied_twice} |")
    return "\n".join(lines) + "\n"


def write(text: str) -> None:
    SECTION.parent.mkdir(exist_ok=True)
    SECTION.write_text(text)
    old = RESULTS_MD.read_text() if RESULTS_MD.exists() else "# Benchmark results\n"
    if TITLE in old:
        head, _, rest = old.partition(TITLE)
        nxt = rest.find("\n## ")
        old = head.rstrip() + ("\n" + rest[nxt:] if nxt >= 0 else "")
    RESULTS_MD.write_text(old.rstrip() + "\n\n" + text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--writers", type=int, default=8)
    args = parser.parse_args()
    rows: list[tuple[str, Report | str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        rows.append(("SQLite", run_backend(f"sqlite:///{Path(tmp) / 'bench.sqlite'}", args.writers, args.seconds)))
    url, cluster, reason = _pg_url()
    if url is None:
        rows.append(("PostgreSQL", reason or "no PostgreSQL"))
    else:
        try:
            rows.append(("PostgreSQL", run_backend(url, args.writers, args.seconds)))
        finally:
            if cluster is not None:
                cluster.stop()  # type: ignore[attr-defined]
    text = section(rows, args.writers, args.seconds)
    write(text)
    print(text)
    for _, report in rows:
        if isinstance(report, Report) and (report.lost or report.errors):
            print(f"LOST OR ERRORS: {report}", file=sys.stderr)
            sys.exit(1)


if __name__ == "__main__":
    main()
