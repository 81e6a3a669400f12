"""N writers (different users) on one image at once, and the check that no edit was lost.

Each writer loops for a bounded time: brush discs (most), eraser discs, undo of its own latest
edit, and re-sending an id it sent before (as the viewer does until an edit is acknowledged).
It records every edit id the store acknowledged and every refusal with its message. The check
then reads the final mask and the stored edit log (in commit order) and asks, for every
acknowledged brush edit still applied, that its disc is in the final mask except where a later
applied eraser took it out (and the converse for erasers): an acknowledged edit is either in the
final mask or was refused with a message. Used by the tests and by ``bench/bench_labeling.py``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select

from core.db import read
from core.errors import InputError
from core.labeling import tables as t
from core.labeling.store import LabelingStore


@dataclass
class WriterLog:
    """What one writer sent and what the store answered."""

    user: str
    discs: dict[str, tuple[int, int, int, bool]] = field(default_factory=dict)  # op id -> (row, col, r, erase)
    acked: list[str] = field(default_factory=list)
    undos_acked: int = 0
    refused: list[str] = field(default_factory=list)  # messages
    resent_applied_twice: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class Report:
    """The figures: acknowledged edits, how many are in the final mask, refused, lost."""

    writers: int
    seconds: float
    acknowledged: int
    present: int
    refused: int
    lost: int
    undos: int
    resent_applied_twice: int
    errors: list[str]
    refusals: list[str] = field(default_factory=list)  # every refusal's message

    @property
    def attempts(self) -> int:
        return self.acknowledged + self.undos + self.refused

    @property
    def present_or_refused_pct(self) -> float:
        return 100.0 * (self.present + self.refused) / max(1, self.acknowledged + self.refused)

    @property
    def refused_pct(self) -> float:
        return 100.0 * self.refused / max(1, self.attempts)


def disc(hw: tuple[int, int], row: int, col: int, radius: int) -> np.ndarray:
    rr, cc = np.ogrid[: hw[0], : hw[1]]
    return (rr - row) ** 2 + (cc - col) ** 2 <= radius * radius


def _writer(store: LabelingStore, image_id: int, label: str, hw: tuple[int, int], log: WriterLog,
            deadline: float, seed: int, undo_rate: float, erase_rate: float, resend_rate: float,
            whole_mask: bool) -> None:
    rng = np.random.default_rng(seed)
    n = 0
    while time.time() < deadline:
        roll = rng.random()
        try:
            if roll < undo_rate:
                if store.undo(image_id, log.user) is not None:
                    log.undos_acked += 1
                continue
            if roll < undo_rate + resend_rate and log.acked:
                op_id = log.acked[int(rng.integers(len(log.acked)))]
                row, col, radius, erase = log.discs[op_id]
                if store.apply_edit(image_id, label, 0, disc(hw, row, col, radius), not erase, log.user,
                                    op_id, "resend").applied:
                    log.resent_applied_twice += 1
                continue
            n += 1
            op_id = f"{log.user}-{n}"
            row, col = int(rng.integers(hw[0])), int(rng.integers(hw[1]))
            radius, erase = int(rng.integers(2, 9)), bool(rng.random() < erase_rate)
            log.discs[op_id] = (row, col, radius, erase)
            footprint, values = disc(hw, row, col, radius), not erase
            if whole_mask:  # the old way, for the check's own test: read the mask, change it, write it all back
                local = store.load_masks(image_id, [label])[label][0]
                local[footprint] = values
                footprint, values = np.ones(hw, bool), local
            store.apply_edit(image_id, label, 0, footprint, values, log.user, op_id,
                             f"{'erase' if erase else 'brush'} {op_id}")
            log.acked.append(op_id)
        except InputError as exc:
            log.refused.append(str(exc))
        except Exception as exc:  # noqa: BLE001 - a lost edit, counted and reported
            log.errors.append(f"{type(exc).__name__}: {exc}"[:300])


def run_writers(store: LabelingStore, image_id: int, label: str, writers: int = 8, seconds: float = 10.0,
                seed: int = 0, undo_rate: float = 0.03, erase_rate: float = 0.15, resend_rate: float = 0.03,
                whole_mask: bool = False) -> Report:
    """Run ``writers`` threads (users ``writer1..N``) on frame 0 of one image, then check.
    ``whole_mask`` makes each writer send its whole mask (read, change, write back: the old
    last-writer-wins way), which the check must catch."""
    _, h, w = store.get_image_record(image_id).shape
    logs = [WriterLog(f"writer{i + 1}") for i in range(writers)]
    deadline = time.time() + seconds
    threads = [threading.Thread(target=_writer, args=(LabelingStore(store.engine), image_id, label, (h, w), log,
                                                      deadline, seed * 1000 + i, undo_rate, erase_rate, resend_rate,
                                                      whole_mask))
               for i, log in enumerate(logs)]
    start = time.time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return check(store, image_id, label, logs, time.time() - start)


def check(store: LabelingStore, image_id: int, label: str, logs: list[WriterLog], seconds: float) -> Report:
    """Compare what the writers were told with the final mask and the stored log (see module doc)."""
    final = store.load_masks(image_id, [label])[label][0]
    hw = final.shape
    with read(store.engine) as db:
        rows = list(db.execute(select(t.edits.c.id, t.edits.c.op_id, t.edits.c.undone)
                               .where(t.edits.c.image_id == image_id).order_by(t.edits.c.id)))
    stored = {r.op_id: (int(r.id), int(r.undone)) for r in rows if r.op_id}
    discs = {op: spec for log in logs for op, spec in log.discs.items()}
    acked = [op for log in logs for op in log.acked]
    lost = [op for op in acked if op not in stored]
    erased_later, painted_later = np.zeros(hw, bool), np.zeros(hw, bool)
    in_final: dict[str, bool] = {}
    for op, (_, undone) in sorted(stored.items(), key=lambda kv: -kv[1][0]):  # newest first
        row, col, radius, erase = discs[op]
        fp = disc(hw, row, col, radius)
        if undone:
            in_final[op] = True  # taken back by its own author: counted as present (the undo was acknowledged)
            continue
        if erase:
            in_final[op] = not (fp & ~painted_later & final).any()
            erased_later |= fp
        else:
            in_final[op] = not (fp & ~erased_later & ~final).any()
            painted_later |= fp
    present = sum(1 for op in acked if in_final.get(op, False))
    lost_count = len(acked) - present
    errors = [e for log in logs for e in log.errors]
    return Report(len(logs), seconds, len(acked), present, sum(len(log.refused) for log in logs), lost_count,
                  sum(log.undos_acked for log in logs), sum(log.resent_applied_twice for log in logs),
                  errors[:5] + ([f"{len(lost)} acknowledged ids missing from the log"] if lost else []),
                  [m for log in logs for m in log.refused])
