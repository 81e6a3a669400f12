"""The bundled example images (``examples/``): name, path, what they show, which pages suit them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.imaging import load

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"


@dataclass(frozen=True)
class Example:
    name: str
    file: str
    description: str
    pages: tuple[str, ...]
    modality: str = ""  # what the image shows, for files that cannot say (PNG, JPEG)
    body_part: str = ""

    @property
    def path(self) -> Path:
        return EXAMPLES_DIR / self.file


EXAMPLES: tuple[Example, ...] = (
    Example("Chest X-ray (CR, DICOM MONOCHROME1, JPEG 2000)", "chest_cr_mono1_j2k.dcm",
            "NEMA WG04 chest radiograph; inverted grey scale shown the right way round", ("upload", "segmentation", "classification"), "CR", "CHEST"),
    Example("Chest X-ray (PNG, adult PA)", "cxr_pneumocystis.png",
            "Pneumocystis pneumonia with a cyst (CC BY)", ("upload", "segmentation", "classification"), "DX", "CHEST"),
    Example("Chest X-ray (JPEG, paediatric pneumonia)", "cxr_pediatric_pneumonia.jpeg",
            "Kermany et al. 2018, viral pneumonia (CC BY 4.0)", ("upload", "classification", "segmentation"),
            "DX", "CHEST"),
    Example("CT chest series (3 slices, zip)", "ct_chest_3slice_series.zip",
            "Three axial CT slices in HU, sorted by position", ("upload", "segmentation")),
    Example("CT slice (HU)", "ct_small.dcm", "Small CT slice with rescale to HU", ("upload",)),
    Example("MR multi-frame (Enhanced MR, 10 frames)", "mr_enhanced_10frames.dcm", "Enhanced MR multi-frame object", ("upload",)),
    Example("Ultrasound cine (30 frames, YBR JPEG)", "us_cine_ybr.dcm", "Colour cine loop; use play", ("upload",)),
    Example("Brain MR (NIfTI)", "brain_mr.nii", "3-D NIfTI, reoriented to RAS+", ("upload",)),
)


def load_example(example: Example):
    """The example loaded as a ``MedImage``; files that cannot say what they show get the
    catalogue's ``DescribedModality`` / ``DescribedBodyPart`` (used to pick a fitting model)."""

    image = load(example.path)
    if example.modality:
        image.metadata.setdefault("DescribedModality", example.modality)
    if example.body_part:
        image.metadata.setdefault("DescribedBodyPart", example.body_part)
    return image


def list_examples(page: str | None = None) -> list[Example]:
    """Examples whose files exist, optionally only those suited to ``page`` (e.g. "segmentation")."""
    return [e for e in EXAMPLES if e.path.exists() and (page is None or page in e.pages)]


def get_example(name: str) -> Example:
    for example in EXAMPLES:
        if example.name == name or example.file == name:
            return example
    raise KeyError(f"no example {name!r}; valid: {', '.join(e.file for e in EXAMPLES)}")
