"""Synthetic images: sample registered conditional GANs, measure them, export them, preview
classic augmentation beside them, and train GANs on the user's own images in the background.

Modules: ``generate`` (seeded sampling), ``quality`` (Fréchet distance, precision/recall,
class consistency, nearest-training distances), ``augment`` (MONAI augmentation preview),
``export`` (zip / folder / npz), ``jobs`` (background training jobs).
"""
