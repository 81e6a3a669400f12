"""The "Send to PACS" button beside each DICOM download (widgets only; ``core.pacs.send`` does the work).

Nothing shows when no server is configured. What is sent keeps the study's identifiers (it goes
back into the study it came from); the "De-identify" option applies to downloads only.
"""

from __future__ import annotations

from typing import Any, Callable

import streamlit as st

from core.pacs import send_bytes
from core.ui.errors import user_errors
from core.ui.upload.pacs import pacs_servers, server_picker


def send_to_pacs(make_items: Callable[[], list[tuple[str, bytes]]], key: str, container: Any = None) -> None:
    """A "Send to PACS" button; ``make_items()`` builds the DICOM files (name, bytes) when clicked."""
    servers = pacs_servers()
    if not servers:
        return
    where = container or st
    server = server_picker(servers, key + "_server", where)
    if where.button("Send to PACS", key=key, icon=":material/cloud_upload:",
                    help=f"STOW-RS to {server.name}, into the source study, with its identifiers"):
        where.caption("Sent with the study's identifiers, into its study (De-identify is for downloads).")
        with user_errors(ValueError, into=where), st.spinner(f"Sending to {server.name}…"):
            result = send_bytes(server, make_items())
            where.success(f"Sent {result.sent} object(s) to {server.name}"
                          + (f"; {len(result.failed)} refused" if result.failed else ""))
