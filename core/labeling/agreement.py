"""Agreement between annotators of one image, and their consensus.

Each annotator's mask is what their own applied edits set (``LabelingStore.user_masks``).
Agreement is the Dice coefficient per label (mean over annotator pairs when more than two; 1.0
when both left a label empty), and a session's mean over its images with two or more
annotators. The consensus is either a majority vote (a pixel is in when more than half of the
annotators put it in; ties, with an even count, are out) or STAPLE (``core.labeling.staple``:
each annotator weighed by the sensitivity and specificity EM estimates for them, per label over
the whole volume).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Sequence

import numpy as np

from core.errors import InputError
from core.labeling.staple import staple
from core.labeling.store import LabelingStore

MAJORITY, STAPLE = "majority vote", "STAPLE"
METHODS = (MAJORITY, STAPLE)


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """2|A∩B| / (|A|+|B|); 1.0 when both are empty."""
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    total = int(a.sum()) + int(b.sum())
    return 1.0 if total == 0 else 2.0 * int((a & b).sum()) / total


@dataclass
class ImageAgreement:
    image_id: int
    annotators: list[str]
    per_label: dict[str, float]  # mean pairwise Dice per label

    @property
    def mean(self) -> float:
        return float(np.mean(list(self.per_label.values()))) if self.per_label else float("nan")


def image_agreement(store: LabelingStore, image_id: int, labels: Sequence[str]) -> ImageAgreement | None:
    """Dice per label between the image's annotators; None with fewer than two."""
    per_user = store.user_masks(image_id, labels)
    users = sorted(per_user)
    if len(users) < 2:
        return None
    per_label = {label: float(np.mean([dice(per_user[a][label], per_user[b][label])
                                       for a, b in combinations(users, 2)])) for label in labels}
    return ImageAgreement(image_id, users, per_label)


def session_agreement(store: LabelingStore, session_id: int, user: str | None = None,
                      admin: bool = False) -> tuple[list[ImageAgreement], float | None]:
    """Agreement of every image (that ``user`` sees) with two or more annotators, and the mean
    of their per-image means (None when no image has two annotators)."""
    session = store.get_session(session_id)
    found = [a for r in store.list_images(session_id, user, admin)
             if (a := image_agreement(store, r.id, session.labels)) is not None]
    return found, (float(np.mean([a.mean for a in found])) if found else None)


def consensus(store: LabelingStore, image_id: int, labels: Sequence[str],
              method: str = MAJORITY) -> dict[str, np.ndarray]:
    """Consensus masks ``{label: (frames, H, W)}`` over the image's annotators, by ``method``
    (one of ``METHODS``)."""
    if method not in METHODS:
        raise InputError(f"the consensus method is one of {', '.join(METHODS)}")
    per_user = store.user_masks(image_id, labels)
    frames, h, w = store.get_image_record(image_id).shape
    if not per_user:
        return {label: np.zeros((frames, h, w), bool) for label in labels}
    if method == STAPLE:
        return {label: staple([m[label] for m in per_user.values()]).mask for label in labels}
    n = len(per_user)
    return {label: sum(m[label].astype(np.int32) for m in per_user.values()) * 2 > n for label in labels}
