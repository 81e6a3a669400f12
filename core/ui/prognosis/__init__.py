"""Widgets of the prognosis tabs (survival, stroke risk, heartbeat sequence) of the Classification & prognosis page."""
