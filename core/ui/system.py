"""The "system" panel: device, registered and loaded models, memory held by the cache."""

from __future__ import annotations

import streamlit as st

from core import system


def _mb(n_bytes: int) -> str:
    return f"{n_bytes / 1024 / 1024:.1f} MB"


def system_summary() -> dict:
    """Plain data for the panel (``core.system.summary``) plus the registered names."""
    info = system.summary()
    return {**info, "registered": [m["name"] for m in info["models"]]}


def render_sidebar_status() -> None:
    """Compact device / cache line for the sidebar of every page."""
    info = system_summary()
    st.sidebar.caption(
        f"**Device:** {info['device']}  \n"
        f"**Models:** {len(info['loaded'])} loaded of {len(info['registered'])} registered  \n"
        f"**Cache:** {_mb(info['held_bytes'])} of {_mb(info['budget_bytes'])}"
    )


def render_system_panel() -> None:
    """The full panel on the home page."""
    info = system_summary()
    cols = st.columns(3)
    cols[0].metric("Device", info["device"].split(" (")[0])
    cols[1].metric("Models loaded / registered", f"{len(info['loaded'])} / {len(info['registered'])}")
    cols[2].metric("Memory held by the model cache", _mb(info["held_bytes"]))
    st.caption(f"{info['device']} · cache budget {_mb(info['budget_bytes'])} (MEDLENS_CACHE_MB) · "
               f"{info['loads']} loads, {info['hits']} cache hits since the server started")
    rows = []
    loaded = {m["name"]: m for m in info["loaded"]}
    for model in info["models"]:
        entry = loaded.get(model["name"])
        rows.append({
            "model": model["name"],
            "task": model["task"],
            "weights": "present" if model["weights_present"] else "missing",
            "loaded on": entry["device"] if entry else "",
            "memory": _mb(entry["bytes"]) if entry else "",
        })
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch")
    else:
        st.info("No models are registered yet: model cards go in `models/<name>/card.json`.")
    for error in info["card_errors"]:
        st.warning(f"Skipped a model card: {error}")
