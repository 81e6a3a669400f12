"""Widgets of the Upload & preprocessing page: source picker, viewer, pipeline editor, crop, metadata, batch."""
