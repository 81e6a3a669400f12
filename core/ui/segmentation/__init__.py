"""Widgets of the Segmentation page: the mask editor and the labeling-session panels."""
