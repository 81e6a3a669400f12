"""4-D NIfTI: time points are kept apart, not flattened into slices (issue #17 item 3)."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from core.errors import InputError
from core.imaging import load
from core.imaging.timepoints import at_time, time_points


def _nifti_4d(tmp_path, shape=(6, 5, 4, 3)):
    data = np.zeros(shape, np.float32)
    for t in range(shape[3]):
        data[..., t] = t + 1  # every voxel of volume t holds t + 1
    path = tmp_path / "dyn.nii"
    nib.save(nib.Nifti1Image(data, np.eye(4)), str(path))
    return path


def test_a_4d_nifti_offers_its_time_points(tmp_path) -> None:
    image = load(_nifti_4d(tmp_path))
    assert image.n_frames == 12 and time_points(image) == 3
    second = at_time(image, 1)
    assert second.n_frames == 4 and time_points(second) == 1
    assert np.all(second.pixels == 2.0)
    assert second.metadata["TimePoint"] == 2 and second.metadata["TimePointsInFile"] == 3
    with pytest.raises(InputError):
        at_time(image, 3)


def test_a_3d_image_is_its_own_time_point(tmp_path) -> None:
    image = load(_nifti_4d(tmp_path, (6, 5, 4, 1)))
    assert time_points(image) == 1 and at_time(image, 0) is image


def test_segmentation_upload_adds_one_image_per_time_point(tmp_path) -> None:
    from core.labeling import LabelingStore
    from core.labeling.workspace import add_uploads

    store = LabelingStore(tmp_path / "labeling.sqlite")
    session = store.create_session("Dynamic", ["lesion"])
    ids, problems = add_uploads(store, session.id, [("dyn.nii", _nifti_4d(tmp_path).read_bytes())])
    assert problems == [] and len(ids) == 3
    records = store.list_images(session.id)
    assert [r.name for r in records] == ["dyn.nii (t=1/3)", "dyn.nii (t=2/3)", "dyn.nii (t=3/3)"]
    assert store.load_image(ids[2]).n_frames == 4
    store.close()
