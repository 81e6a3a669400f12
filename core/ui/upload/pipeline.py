"""The pipeline editor: an ordered list of steps to add, edit, reorder and remove."""

from __future__ import annotations

import streamlit as st

from core.preprocess import OPS, Param, Pipeline, Step, get_op
from core.ui.errors import user_errors

FAMILY_ORDER = ("intensity", "denoise", "sharpen", "contrast", "geometry", "normalise")


def get_pipeline(key: str) -> Pipeline:
    if key not in st.session_state:
        st.session_state[key] = Pipeline()
    return st.session_state[key]


def _param_widget(param: Param, value, key: str):
    label = param.name.replace("_", " ") + (f" ({param.help})" if param.help else "")
    if param.type == "choice":
        return st.selectbox(label, param.choices, index=param.choices.index(value) if value in param.choices else 0, key=key)
    if param.type == "bool":
        return st.checkbox(label, value=bool(value), key=key)
    if param.type == "int":
        return st.number_input(label, value=int(value), step=1, key=key,
                               min_value=int(param.min) if param.min is not None else None,
                               max_value=int(param.max) if param.max is not None else None)
    return st.number_input(label, value=float(value), step=float(param.step or 0.1), format="%g", key=key,
                           min_value=float(param.min) if param.min is not None else None,
                           max_value=float(param.max) if param.max is not None else None)


def _op_label(name: str) -> str:
    spec = OPS[name]
    return spec.label + ("" if spec.interactive else " (slow)")


def pipeline_editor(key: str) -> Pipeline:
    """Render the editor for the pipeline stored under ``key``; returns it (edited in place)."""
    pipeline = get_pipeline(key)
    names = sorted(OPS, key=lambda n: (FAMILY_ORDER.index(OPS[n].family) if OPS[n].family in FAMILY_ORDER else 99, OPS[n].label))
    add_cols = st.columns([4, 1])
    with add_cols[0]:
        op = st.selectbox("Add an operation", names, format_func=_op_label, key=f"{key}.new_op")
    with add_cols[1]:
        st.write("")
        if st.button("Add", key=f"{key}.add", icon=":material/add:", width="stretch"):
            pipeline.add(op)
            st.rerun()
    if not pipeline.steps:
        st.caption("No steps yet: the processed image equals the original.")
    for i, step in enumerate(list(pipeline.steps)):
        spec = get_op(step.op)
        with st.container(border=True):
            head = st.columns([6, 1, 1, 1])
            head[0].markdown(f"**{i + 1}. {spec.label}**  \n<small>{step.params_text()}</small>",
                             unsafe_allow_html=True)
            if head[1].button("", key=f"{key}.up{i}", icon=":material/arrow_upward:", disabled=i == 0, help="move up"):
                pipeline.move(i, -1)
                st.rerun()
            if head[2].button("", key=f"{key}.down{i}", icon=":material/arrow_downward:", disabled=i == len(pipeline) - 1, help="move down"):
                pipeline.move(i, 1)
                st.rerun()
            if head[3].button("", key=f"{key}.del{i}", icon=":material/delete:", help="remove"):
                pipeline.remove(i)
                st.rerun()
            with st.expander("Edit parameters", expanded=False):
                with st.form(f"{key}.form{i}.{id(step)}", border=False):
                    values = {p.name: _param_widget(p, step.params.get(p.name, p.default), f"{key}.p{i}.{p.name}.{id(step)}") for p in spec.params}
                    if st.form_submit_button("Apply"):
                        with user_errors():
                            pipeline.steps[i] = Step(step.op, spec.coerce(values))
                            st.rerun()
                st.caption(spec.doc)
    with st.expander("Save / load pipeline (JSON)"):
        st.download_button("Download pipeline.json", pipeline.to_json(), file_name="pipeline.json", mime="application/json",
                           key=f"{key}.save", on_click="ignore", icon=":material/download:")
        uploaded = st.file_uploader("Load a pipeline", type=["json"], key=f"{key}.upload")
        if uploaded is not None and st.button("Replace the pipeline with this file", key=f"{key}.load"):
            with user_errors():
                st.session_state[key] = Pipeline.from_json(uploaded.getvalue().decode("utf-8", "replace"))
                st.rerun()
        if pipeline.steps and st.button("Clear all steps", key=f"{key}.clear"):
            st.session_state[key] = Pipeline()
            st.rerun()
    return pipeline
