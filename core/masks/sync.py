"""The Python half of the viewer protocol for one image: edits in, acknowledgements and masks out.

The browser's value (the latest only; Streamlit drops older ones) is
``{"epoch", "maskSeq", "edits": [...], "prompts": [...], "need": [...], "frame", "label"}``:
``edits`` holds every edit not yet acknowledged, ``maskSeq`` the highest mask version it holds
for this ``epoch``, ``need`` the frames it wants pixels for (nearest first).

``ViewerSync.handle(value)`` applies new edits once each (``core.masks.edits.EditLedger``) and
answers ``{"epoch", "seq", "acked", "failed", "masks", "promptsDone", "echo"}``, where ``masks`` lists every
``(label, frame)`` mask whose version is newer than the browser's ``maskSeq`` as run-length code
plus its SHA-256. The answer is a function of the value and the stored state, so an answer lost
to an interrupted rerun is simply given again on the next one.
"""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np

from core.masks.edits import EditLedger, EditTarget
from core.masks.encode import empty_sha, mask_sha, rle_encode
from core.masks.history import History

MAX_EDITS_PER_VALUE = 500


class ViewerSync:
    """State shared by the reruns of one viewer: mask versions, the edit ledger, prompts done."""

    def __init__(self, target: EditTarget, labels: list[str], shape: tuple[int, int, int],
                 ledger: EditLedger | None = None, history: History | None = None) -> None:
        """``history`` (the target's undo list), when given, is watched: a change the viewer did
        not make (a model run, a page button, an import) sends every mask again."""
        self.target = target
        self.history = history
        self.labels = list(labels)
        self.shape = tuple(int(s) for s in shape[:3])
        self.ledger = ledger or EditLedger()
        self.epoch = uuid.uuid4().hex[:12]
        self.seq = 0
        self.versions: dict[tuple[str, int], int] = {}
        self.prompts_done: set[str] = set()
        self.empty_sha = empty_sha(self.shape[1:])
        self.touch()
        self._mark = self._history_mark()

    def _history_mark(self) -> tuple | None:
        h = self.history
        return None if h is None else (len(h.edits), h.position, id(h.edits[-1]) if h.edits else None)

    def touch(self, label: str | None = None, frame: int | None = None) -> None:
        """Mark masks changed outside the viewer (a model run, an import, a page button) so that
        the browser receives them; ``None`` means all labels / all frames. Frames that were never
        sent and are still empty are skipped."""
        self.seq += 1
        for name in ([label] if label is not None else self.labels):
            if name not in self.labels:
                self.labels.append(name)
            frames = [frame] if frame is not None else range(self.shape[0])
            for f in frames:
                if (name, f) in self.versions or self.target.get(name, f).any():
                    self.versions[(name, f)] = self.seq

    def mask_entry(self, label: str, frame: int) -> dict[str, Any]:
        """One mask as sent: label, frame, version, run lengths, SHA-256."""
        mask = np.asarray(self.target.get(label, frame), bool)
        return {"label": label, "frame": int(frame), "v": self.versions.get((label, frame), 0),
                "rle": rle_encode(mask), "sha": mask_sha(mask)}

    def handle(self, value: dict[str, Any] | None) -> dict[str, Any]:
        """Apply the value's new edits; the reply for the browser (see the module doc)."""
        value = value if isinstance(value, dict) else {}
        same_epoch = value.get("epoch") == self.epoch
        client_seq = value.get("maskSeq") if same_epoch else 0
        client_seq = client_seq if isinstance(client_seq, int) and not isinstance(client_seq, bool) else 0
        if self._history_mark() != self._mark:
            self.touch()
        edits = value.get("edits")
        edits = edits[:MAX_EDITS_PER_VALUE] if isinstance(edits, list) else []
        outcome = self.ledger.apply(self.target, edits)
        self._mark = self._history_mark()
        for label, frame in sorted(outcome.changed):
            self.touch(label, frame)
        changed = sorted(key for key, v in self.versions.items() if v > client_seq)
        prompts = value.get("prompts") if isinstance(value.get("prompts"), list) else []
        done = [p["id"] for p in prompts if isinstance(p, dict) and p.get("id") in self.prompts_done]
        return {
            "epoch": self.epoch,
            "seq": self.seq,
            "acked": outcome.acked,
            "failed": outcome.failed,
            "masks": [self.mask_entry(label, frame) for label, frame in changed],
            "promptsDone": done,
            "echo": value.get("n", 0),  # which value this answers: the browser knows when it is in sync
        }

    def new_prompts(self, value: dict[str, Any] | None) -> list[dict[str, Any]]:
        """Box / click prompts in the value not handled yet (the page runs the model on them and
        then calls ``prompt_done``)."""
        prompts = value.get("prompts") if isinstance(value, dict) else None
        if not isinstance(prompts, list):
            return []
        return [p for p in prompts if isinstance(p, dict) and isinstance(p.get("id"), str)
                and p["id"] not in self.prompts_done]

    def prompt_done(self, prompt_id: str) -> None:
        self.prompts_done.add(prompt_id)
