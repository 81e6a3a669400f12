"""One image of a labeling session opened for editing, and adding uploads to a session.

Every edit, undo and redo made through a ``Workspace`` is written to the ``LabelingStore`` as it
happens (as an operation on the latest saved mask), so a reload resumes exactly where the user
was and several users' strokes on one image merge.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from core.errors import MedLensError
from core.imaging import list_series, load
from core.imaging.timepoints import at_time, time_points
from core.labeling.store import LOCAL, EditResult, LabelingStore, Session, op_id_of
from core.masks.history import Edit
from core.masks.io import read_masks
from core.masks.maskset import DEFAULT_COLOURS


def import_masks(data: bytes, name: str, labels: Sequence[str], image: Any, default_label: str | None = None) -> dict[str, np.ndarray]:
    """Masks from a PNG, NIfTI or DICOM SEG file as ``{label: (frames, H, W) bool}`` for this
    image (see ``core.masks.io``)."""
    return read_masks(data, name, list(labels), image, default_label)


class Workspace:
    """One image of a session opened for editing by one user: its pixels, ``MaskSet`` and that
    user's undo list. Every edit is sent to the store as an operation on the latest saved mask
    (other users' strokes are kept), and the local copy takes the saved result."""

    def __init__(self, store: LabelingStore, session: Session, image_id: int, image: Any | None = None,
                 user: str = LOCAL) -> None:
        self.store = store
        self.session = session
        self.user = user or LOCAL
        self.image_id = int(image_id)
        self.record = store.get_image_record(image_id)
        self.image = image if image is not None else store.load_image(image_id)
        self.masks = store.open_maskset(session, image_id, self.user)
        self.versions = store.mask_versions(self.image_id)
        self.probs: dict[tuple[str, int], np.ndarray] = {}  # model probability maps (not stored)
        self.clicks: dict[tuple[str, int], list[Any]] = {}

    @property
    def labels(self) -> list[str]:
        return self.masks.labels

    def get(self, label: str, frame: int = 0) -> np.ndarray:
        """The ``(H, W)`` mask as last saved or seen (read only), as ``MaskSet.get``."""
        return self.masks.get(label, frame)

    def _take(self, result: EditResult) -> Edit:
        edit = result.edit
        self.masks.data[edit.label][edit.frame] = result.mask
        fresh = self.store.load_history(self.image_id, user=self.user)
        history = self.masks.history  # updated in place: a ViewerSync watches this object
        history.edits, history.position = fresh.edits, fresh.position
        return edit

    def set(self, label: str, frame: int, new: np.ndarray, description: str = "", keep_noop: bool = False) -> Edit | None:
        """Make ``label`` on ``frame`` look like ``new`` where it differs from the local copy; the
        store applies that difference to the latest saved mask. None when nothing changed (unless
        ``keep_noop``: the viewer records a stroke that changed nothing, so one undo is one stroke)."""
        current = self.masks.get(label, frame)  # checks label and frame
        new = np.asarray(new, bool)
        footprint = current != new
        if not footprint.any() and not keep_noop:
            return None
        result = self.store.apply_edit(self.image_id, label, frame, footprint, new, self.user,
                                       op_id_of(description), description)
        return self._take(result)

    def edit(self, label: str, frame: int, new: np.ndarray, description: str = "") -> Edit | None:
        """Replace a label's mask on a frame; saved at once. None when nothing changed."""
        return self.set(label, frame, new, description)

    def paint(self, label: str, frame: int, footprint: np.ndarray, erase: bool = False, description: str = "",
              op_id: str | None = None) -> Edit:
        """A stroke or polygon (``footprint``: exactly the pixels it covers) added (or erased) on
        the latest saved mask, so another user's strokes saved since are kept, wherever they are.
        An ``op_id`` stored before is acknowledged without being applied twice; a stroke that
        changes nothing is still recorded (one undo = one stroke)."""
        self.masks.get(label, frame)  # checks label and frame
        return self._take(self.store.apply_edit(self.image_id, label, frame, np.asarray(footprint, bool), not erase,
                                                self.user, op_id or op_id_of(description), description))

    def remember(self, frame: int, label: str | None = None) -> None:
        """Record that this user is on this image (at ``frame``, editing ``label``): where a reload
        resumes them; other users' positions do not move."""
        self.store.set_position(self.session.id, self.user, image_id=self.image_id, frame=frame, label=label)

    def undo(self, op_id: str | None = None) -> Edit | None:
        """Undo this user's latest edit; ``InputError`` "changed by NAME; reload" on a conflict.
        An ``op_id`` (the viewer's step id) taken before does nothing."""
        result = self.store.undo(self.image_id, self.user, op_id)
        return None if result is None else self._take(result)

    def redo(self, op_id: str | None = None) -> Edit | None:
        result = self.store.redo(self.image_id, self.user, op_id)
        return None if result is None else self._take(result)

    def op_ids(self) -> set[str]:
        """The edit and step ids stored for this image (by anyone): a viewer's ledger starts from these."""
        return self.store.op_ids(self.image_id)

    def refresh(self) -> bool:
        """Take the masks other users saved since; True when something changed."""
        versions = self.store.mask_versions(self.image_id)
        if versions == self.versions:
            return False
        stored = self.store.load_masks(self.image_id, self.labels)
        for label in self.labels:
            self.masks.data[label][...] = stored[label]
        self.versions = versions
        return True

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


def add_uploads(store: LabelingStore, session_id: int, files: Sequence[tuple[str, bytes]],
                user: str = LOCAL) -> tuple[list[int], list[str]]:
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
            ids.append(store.add_image(session_id, at_time(image, t), f"{name} (t={t + 1}/{count})" if count > 1 else name,
                                       user=user))
    return ids, problems
