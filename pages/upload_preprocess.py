"""Upload & preprocessing: load DICOM/NIfTI/raster, window, build a pipeline, export."""

from __future__ import annotations

import streamlit as st

from core.export.derived import dataset_bytes, to_dicom_datasets
from core.export.image import export
from core.ui.deid_option import deidentify_option
from core.preprocess import Pipeline
from core.ui.errors import user_errors
from core.ui.pacs_send import send_to_pacs
from core.ui.state import set_working_image
from core.ui.upload.batch import batch_panel
from core.ui.upload.crop import crop_box_selector
from core.ui.upload.metadata import metadata_panel
from core.ui.upload.pipeline import pipeline_editor
from core.ui.upload.source import IMAGE_ID, current_image, image_summary, source_picker, time_point_picker
from core.ui.upload.view import VIEW, current_view, viewer
from core.ui.viewer import reset_view

PIPELINE = "up.pipeline"

st.title("Upload & preprocessing")
st.caption("DICOM read natively (series, multi-frame, compressed), NIfTI and PNG/JPEG/TIFF; windowing in "
           "modality units; a replayable preprocessing pipeline; de-identified and processed downloads.")

source_picker()
image = current_image()
if image is None:
    st.info("Upload a file, several files or a zip — or load one of the bundled examples.")
    st.stop()

image, time_index = time_point_picker(image)
image_id = st.session_state.get(IMAGE_ID, 0) * 100_000 + time_index  # one id per loaded file and time point
if st.session_state.get("up.view_for") != image_id:
    reset_view(image, VIEW)
    st.session_state["up.view_for"] = image_id

st.markdown(image_summary(image))
skipped = image.metadata.get("_skipped") or []
if skipped:
    with st.expander(f"{len(skipped)} file(s) skipped"):
        st.dataframe(skipped, hide_index=True, width="stretch")

tab_view, tab_meta, tab_export, tab_batch = st.tabs(["Viewer & pipeline", "Metadata", "Export", "Batch"])

with tab_view:
    viewer_area = st.container()
    editor_col, crop_col = st.columns([1, 1], gap="large")
    with editor_col:
        st.subheader("Pipeline")
        pipeline = pipeline_editor(PIPELINE)
    with viewer_area:
        viewer(image, image_id, pipeline)
    with crop_col:
        st.subheader("Crop by box")
        frame, window = current_view()
        box = crop_box_selector(image, frame, window, "up.crop")
        if box:
            pipeline.insert_crop(**box)
            st.rerun()

with tab_meta:
    metadata_panel(image, "up.meta")

with tab_export:
    frame, window = current_view()
    snapshot = Pipeline.from_dict(pipeline.to_dict())
    stem = image.name.rsplit("/", 1)[-1].split(".", 1)[0] or "image"

    deidentify = deidentify_option(image.datasets, "up.dl_deid") if image.kind == "dicom" and image.datasets else False

    def _export(fmt: str) -> bytes:
        processed = snapshot.apply(image)
        view_window = window if snapshot.keeps_units() else processed.window
        return export(processed.with_pixels(processed.pixels, window=view_window), fmt,
                      frame=min(frame, processed.n_frames - 1), deidentify=deidentify)[0]

    st.caption(f"The processed image ({len(snapshot)} step(s)); PNG is frame {frame + 1} of {image.n_frames} with the current window.")
    c = st.columns(3)
    c[0].download_button("PNG", data=lambda: _export("png"), file_name=f"{stem}_processed.png", mime="image/png",
                         key="up.dl_png", on_click="ignore", icon=":material/image:")
    c[1].download_button("NIfTI", data=lambda: _export("nifti"), file_name=f"{stem}_processed.nii.gz",
                         mime="application/gzip", key="up.dl_nifti", on_click="ignore", icon=":material/view_in_ar:")
    multi = image.n_frames > 1
    dicom_name = ("deidentified_processed" if deidentify else f"{stem}_processed") + (".zip" if multi else ".dcm")
    c[2].download_button("DICOM (derived)" + (" zip" if multi else ""), data=lambda: _export("dicom"),
                         file_name=dicom_name,
                         mime="application/zip" if multi else "application/dicom", key="up.dl_dicom", on_click="ignore", icon=":material/description:")
    if image.kind == "dicom" and image.datasets:
        send_to_pacs(lambda: [(f"derived{i:04d}.dcm", dataset_bytes(ds)) for i, ds in
                              enumerate(to_dicom_datasets(snapshot.apply(image)))], "up.send_derived", c[2])
    st.divider()
    if st.button("Use as working image", type="primary", key="up.use", icon=":material/arrow_forward:",
                 help="The processed image becomes the input of the Segmentation and Classification pages."):
        with user_errors():
            with st.spinner("Processing every frame…"):
                processed = snapshot.apply(image)
            set_working_image(processed, image.name)
            st.success(f"Working image set: {image.name} ({' x '.join(map(str, processed.shape))}). "
                       "Open Segmentation or Classification to use it.")

with tab_batch:
    batch_panel(pipeline, "up.batch")
