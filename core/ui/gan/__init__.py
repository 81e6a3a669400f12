"""Widgets of the GAN augmentation page."""
