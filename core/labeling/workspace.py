"""One image of a labeling session opened for editing, and adding uploads to a session.

Every edit, undo and redo made through a ``Workspace`` is written to the ``LabelingStore`` as it
happens, so a reload resumes exactly where the user was.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from core.errors import MedLensError
from core.imaging import list_series, load
from core.imaging.timepoints import at_time, time_points
from core.labeling.store import LabelingStore, Session
from core.masks.history import Edit
from core.masks.io import read_masks
from core.masks.maskset import DEFAULT_COLOURS


def import_masks(data: bytes, name: str, labels: Sequence[str], image: Any, default_label: str | None = None) -> dict[str, np.ndarray]:
    """Masks from a PNG, NIfTI or DICOM SEG file as ``{label: (frames, H, W) bool}`` for this
    image (see ``core.masks.io``)."""
    return read_masks(data, name, list(labels), image, default_label)


class Workspace:
    """One image of a session opened for editing: its pixels, ``MaskSet`` and edit history,
    with every edit, undo and redo written to the store as it happens."""

    def __init__(self, store: LabelingStore, session: Session, image_id: int, image: Any | None = None) -> None:
        self.store = store
        self.session = session
        self.image_id = int(image_id)
        self.record = store.get_image_record(image_id)
        self.image = image if image is not None else store.load_image(image_id)
        self.masks = store.open_maskset(session, image_id)
        self.probs: dict[tuple[str, int], np.ndarray] = {}  # model probability maps (not stored)
        self.clicks: dict[tuple[str, int], list[Any]] = {}

    @property
    def labels(self) -> list[str]:
        return self.masks.labels

    def edit(self, label: str, frame: int, new: np.ndarray, description: str = "") -> Edit | None:
        """Replace a label's mask on a frame; saved at once. None when nothing changed."""
        return self.set(label, frame, new, description)

    def get(self, label: str, frame: int = 0) -> np.ndarray:
        """The stored ``(H, W)`` mask (read only), as ``MaskSet.get``."""
        return self.masks.get(label, frame)

    def set(self, label: str, frame: int, new: np.ndarray, description: str = "", keep_noop: bool = False) -> Edit | None:
        """``edit`` with ``MaskSet.set``'s ``keep_noop`` (the viewer records a stroke that changed
        nothing, so that one undo is one stroke); what the viewer's edit ledger writes through."""
        edit = self.masks.set(label, frame, new, description, keep_noop=keep_noop)
        if edit is not None:
            self.store.record_edit(self.image_id, edit, self.masks.get(label, frame))
        return edit

    def undo(self) -> Edit | None:
        edit = self.masks.undo()
        if edit is not None:
            self.store.record_undo(self.image_id, edit, self.masks.get(edit.label, edit.frame), undone=True)
        return edit

    def redo(self) -> Edit | None:
        edit = self.masks.redo()
        if edit is not None:
            self.store.record_undo(self.image_id, edit, self.masks.get(edit.label, edit.frame), undone=False)
        return edit

    def replace_all(self, masks: dict[str, np.ndarray], description: str = "import") -> int:
        """Set whole ``(frames, H, W)`` masks per label (e.g. imported ones), one edit per frame."""
        count = 0
        for label, volume in masks.items():
            if label not in self.labels:
                continue
            for frame in range(self.masks.shape[0]):
                count += self.edit(label, frame, np.asarray(volume[frame], bool), description) is not None
        return count

    def add_labels(self, new_labels: Sequence[str], colours: Sequence[str] | None = None) -> Session:
        """Add labels to the session and to this workspace's mask set."""
        labels = self.session.labels + [x for x in new_labels if x not in self.session.labels]
        cols = self.session.colours + list(colours or [])
        cols += [DEFAULT_COLOURS[i % len(DEFAULT_COLOURS)] for i in range(len(cols), len(labels))]
        self.session = self.store.update_session(self.session.id, labels=labels, colours=cols[: len(labels)])
        for label in labels:
            if label not in self.masks.data:
                self.masks.labels.append(label)
                self.masks.data[label] = np.zeros(self.masks.shape, bool)
        return self.session


def add_uploads(store: LabelingStore, session_id: int, files: Sequence[tuple[str, bytes]]) -> tuple[list[int], list[str]]:
    """Add uploaded files (and zips) to a session: one image per series found (the slices of
    a DICOM series together, each other file on its own, each time point of a 4-D NIfTI on its
    own). Returns (image ids, problems)."""
    files = [(str(name), bytes(data)) for name, data in files]
    try:
        listing = list_series(files)
    except MedLensError as exc:
        return [], [str(exc)]
    problems = [f"{s.file}: {s.reason}" for s in listing.skipped]
    ids: list[int] = []
    single = len(listing.series) == 1
    for info in listing.series:
        try:
            image = load(files, series_uid=None if single else info.series_uid)
        except MedLensError as exc:
            problems.append(str(exc))
            continue
        if single and len(files) == 1:
            name = files[0][0]
        elif len(info.files) == 1:
            name = info.files[0]
        else:
            name = f"{info.modality} {info.description or info.series_uid[-12:]} ({info.n_files} files)"
        count = time_points(image)
        for t in range(count):  # a 4-D file: one image per time point, never its (t, z) frames as slices
            ids.append(store.add_image(session_id, at_time(image, t), f"{name} (t={t + 1}/{count})" if count > 1 else name))
    return ids, problems
