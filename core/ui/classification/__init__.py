"""Widgets of the image-classification tab of the Classification & prognosis page."""
