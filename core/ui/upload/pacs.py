"""The "Open from PACS" tab of the Upload page: pick a server, search studies, pick a series
(with thumbnails), fetch it with a progress bar. Widgets only; the logic is ``core.pacs``.

Session-state keys (prefix ``up.pacs.``): ``hits`` the last study search, ``series`` the series
of the chosen study, ``thumbs`` thumbnails by series UID, ``origin`` the server an image came from.
"""

from __future__ import annotations

from typing import Callable

import streamlit as st

from core.imaging import MedImage
from core.pacs import PacsServer, configured_servers, fetch_image, search_series, search_studies, series_thumbnail
from core.ui.errors import user_errors

K = "up.pacs."
ORIGIN = K + "origin"


def pacs_servers() -> list[PacsServer]:
    """The configured servers; an unreadable configuration is shown once and means none."""
    with user_errors() as outcome:
        servers = configured_servers()
    return [] if outcome.failed else servers


def server_picker(servers: list[PacsServer], key: str, container=None) -> PacsServer:
    """A server selectbox when there are several (the one the image came from first)."""
    where = container or st
    if len(servers) == 1:
        return servers[0]
    names = [s.name for s in servers]
    origin = st.session_state.get(ORIGIN)
    index = names.index(origin) if origin in names else 0
    chosen = where.selectbox("PACS", names, index=index, key=key)
    return servers[names.index(chosen)]


def _search_form(server: PacsServer) -> None:
    with st.form(K + "form", border=False):
        c = st.columns(4)
        patient_id = c[0].text_input("Patient ID", key=K + "patient_id")
        patient_name = c[1].text_input("Patient name", key=K + "patient_name", help="* matches anything")
        modality = c[2].text_input("Modality", key=K + "modality", placeholder="CR, CT, MR…")
        accession = c[3].text_input("Accession number", key=K + "accession")
        c = st.columns(3)
        date_from = c[0].text_input("Study date from", key=K + "date_from", placeholder="YYYY-MM-DD")
        date_to = c[1].text_input("Study date to", key=K + "date_to", placeholder="YYYY-MM-DD")
        description = c[2].text_input("Study description", key=K + "description")
        if st.form_submit_button("Search", icon=":material/search:"):
            with user_errors(), st.spinner(f"Searching {server.name}…"):
                st.session_state[K + "hits"] = (server.name, search_studies(
                    server, patient_id=patient_id, patient_name=patient_name, modality=modality, accession=accession,
                    date_from=date_from, date_to=date_to, description=description))
                st.session_state.pop(K + "series", None)


def _thumbnail(server: PacsServer, study_uid: str, series_uid: str) -> bytes | None:
    thumbs = st.session_state.setdefault(K + "thumbs", {})
    if series_uid not in thumbs:
        thumbs[series_uid] = series_thumbnail(server, study_uid, series_uid)
    return thumbs[series_uid]


def pacs_source(set_image: Callable[[MedImage, str], None]) -> None:
    """The whole tab: search, pick, open (``set_image(image, signature)`` takes the fetched image)."""
    servers = pacs_servers()
    if not servers:
        st.info("No PACS configured.")
        return
    server = server_picker(servers, K + "server")
    st.caption(f"{server.name} · {server.url} · DICOMweb (QIDO-RS search, WADO-RS fetch as stored)")
    _search_form(server)
    stored = st.session_state.get(K + "hits")
    if not stored or stored[0] != server.name:
        return
    hits = stored[1]
    if not hits:
        st.warning("No study matches.")
        return
    labels = {h.study_uid: h.label() for h in hits}
    study_uid = st.radio(f"{len(hits)} stud{'y' if len(hits) == 1 else 'ies'} found", list(labels),
                         format_func=labels.get, key=K + "study")
    cached = st.session_state.get(K + "series")
    if not cached or cached[0] != study_uid:
        with user_errors() as outcome:
            cached = (study_uid, search_series(server, study_uid))
        if outcome.failed:
            return
        st.session_state[K + "series"] = cached
    series = [s for s in cached[1] if s.modality not in ("SEG", "SR", "PR", "KO")] or cached[1]
    cols = st.columns(min(len(series), 4) or 1)
    for i, item in enumerate(series[:8]):
        with cols[i % len(cols)]:
            thumb = _thumbnail(server, study_uid, item.series_uid)
            if thumb:
                st.image(thumb, caption=item.label(), width=128)
            else:
                st.caption(item.label())
    names = {s.series_uid: s.label() for s in series}
    series_uid = st.radio("Series", list(names), format_func=names.get, key=K + "series_pick", horizontal=True)
    if st.button("Open", type="primary", key=K + "open", icon=":material/cloud_download:"):
        bar = st.progress(0.0, text="Fetching…")

        def progress(done: int, expected: int, n_bytes: int) -> None:
            bar.progress(min(done / max(expected, 1), 1.0), text=f"Fetching: {done}/{expected} instance(s), "
                                                                  f"{n_bytes / 2**20:.1f} MB")

        with user_errors():
            image = fetch_image(server, study_uid, series_uid, progress=progress)
            st.session_state[ORIGIN] = server.name
            set_image(image, f"pacs:{server.name}:{series_uid}")
        bar.empty()
