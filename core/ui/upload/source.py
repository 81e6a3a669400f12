"""Choosing the input: uploaded files (several, or a zip) or a bundled example; series picking.

Session-state keys (prefix ``up.``): ``up.image`` the loaded original ``MedImage``,
``up.image_id`` a counter that changes with every new image, ``up.source`` a signature of
what was loaded (so reruns do not reload), ``up.listing`` the series listing of a container.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd
import streamlit as st

from core.errors import InputError
from core.examples import list_examples
from core.imaging import MedImage, list_series, load
from core.imaging.timepoints import at_time, time_points
from core.imaging.guard import one_line
from core.ui.errors import user_errors
from core.ui.upload.pacs import pacs_servers, pacs_source

IMAGE = "up.image"
IMAGE_ID = "up.image_id"
SOURCE = "up.source"
LISTING = "up.listing"


def current_image() -> MedImage | None:
    return st.session_state.get(IMAGE)


def _signature(files: list[Any]) -> str:
    digest = hashlib.sha1()
    for f in files:
        digest.update(f"{f.name}:{f.size}".encode())
        digest.update(f.getvalue()[:4096])
    return digest.hexdigest()


def _set_image(image: MedImage, source: str) -> None:
    st.session_state[IMAGE] = image
    st.session_state[SOURCE] = source
    st.session_state[IMAGE_ID] = st.session_state.get(IMAGE_ID, 0) + 1


def _load_files(entries: list[tuple[str, bytes]], signature: str) -> None:
    """Load one file directly; for several files or a zip, list the series and let the user pick."""
    is_container = len(entries) > 1 or entries[0][1][:4] == b"PK\x03\x04"
    if not is_container:
        _set_image(load(entries[0][1], name=entries[0][0]), signature)
        st.session_state.pop(LISTING, None)
        return
    listing = list_series(entries)
    st.session_state[LISTING] = (signature, entries, listing)
    if len(listing.series) == 1:
        image = load(entries, series_uid=listing.series[0].series_uid)
        _set_image(image, signature + listing.series[0].series_uid)
    elif not listing.series:
        detail = "; ".join(f"{s.file}: {s.reason}" for s in listing.skipped[:3])
        raise InputError(one_line(f"no usable image among {len(entries)} file(s) ({detail})"))


def source_picker() -> None:
    """Upload / example / PACS widgets; loads into ``st.session_state[IMAGE]`` and reports problems.

    The "Open from PACS" tab shows only when a DICOMweb server is configured."""
    with_pacs = bool(pacs_servers())
    tabs = st.tabs(["Upload", "Examples"] + (["Open from PACS"] if with_pacs else []))
    tab_upload, tab_example = tabs[0], tabs[1]
    with tab_upload:
        files = st.file_uploader(
            "DICOM (single, multi-frame or a whole series), NIfTI, PNG/JPEG/TIFF, or a .zip of a folder",
            accept_multiple_files=True, key="up.files",
        )
        if files:
            signature = _signature(files)
            known = st.session_state.get(LISTING, (None,))[0] == signature or (st.session_state.get(SOURCE) or "").startswith(signature)
            if not known:
                with user_errors() as outcome:
                    with st.spinner("Reading files…"):
                        _load_files([(f.name, f.getvalue()) for f in files], signature)
                if outcome.failed:
                    st.session_state[LISTING] = (signature, [], None)
    with tab_example:
        examples = list_examples()
        if examples:
            choice = st.selectbox("Bundled example", [e.name for e in examples], key="up.example",
                                  help="Small, redistributable files; see examples/README.md for sources and licences.")
            example = next(e for e in examples if e.name == choice)
            st.caption(f"{example.description} · suits: {', '.join(example.pages)}")
            if st.button("Load example", key="up.load_example", icon=":material/folder_open:"):
                with user_errors():
                    data = example.path.read_bytes()
                    _load_files([(example.file, data)], f"example:{example.file}")
        else:
            st.info("No bundled examples found.")
    if with_pacs:
        with tabs[2]:
            pacs_source(_set_pacs_image)
    _series_choice()


def _set_pacs_image(image: MedImage, signature: str) -> None:
    st.session_state.pop(LISTING, None)
    _set_image(image, signature)


def _series_choice() -> None:
    stored = st.session_state.get(LISTING)
    if not stored or stored[2] is None:
        return
    signature, entries, listing = stored
    loaded = (st.session_state.get(SOURCE) or "").startswith(signature)
    if listing.skipped and not loaded:  # once a series is loaded, the page lists its skipped files (all of them, once)
        with st.expander(f"{len(listing.skipped)} file(s) skipped", expanded=not listing.series):
            st.dataframe(pd.DataFrame([{"file": s.file, "reason": s.reason} for s in listing.skipped]), hide_index=True,
                         width="stretch")
    if len(listing.series) > 1:
        labels = {s.series_uid: s.label() for s in listing.series}
        uid = st.radio(f"{len(listing.series)} series found: pick one", list(labels), format_func=labels.get, key="up.series")
        if st.session_state.get(SOURCE) != signature + uid:
            with user_errors(), st.spinner("Loading the series…"):
                _set_image(load(entries, series_uid=uid), signature + uid)


def time_point_picker(image: MedImage) -> tuple[MedImage, int]:
    """A 4-D image: a time selector and that time point's volume (never the (t, z) frames
    flattened as slices); returns ``(volume, time index)``, the image itself and 0 when 3-D."""
    count = time_points(image)
    if count == 1:
        return image, 0
    per_volume = image.n_frames // count
    t = st.slider("Time point", 1, count, key="up.time_point",
                  help="This file is 4-D: each time point is a volume of its own")
    st.caption(f"4-D image: {count} time points × {per_volume} slices; showing time point {t} of {count}.")
    return at_time(image, t - 1), t - 1


def image_summary(image: MedImage) -> str:
    spacing = f"{image.spacing[0]:.3g} x {image.spacing[1]:.3g} mm" if image.spacing else "unknown spacing"
    window = f"window {image.window[0]:.6g}/{image.window[1]:.6g}" if image.window else "no window"
    shape = " x ".join(str(s) for s in image.shape)
    extra = [image.metadata[k] for k in ("TransferSyntax", "PhotometricInterpretation") if image.metadata.get(k)]
    kind = image.kind.upper() if image.kind.upper() == image.modality else f"{image.kind.upper()} {image.modality}"
    return f"**{image.name}** · {kind} · {shape} · {spacing} · {window}" + (
        f" · {' · '.join(map(str, extra))}" if extra else "")
