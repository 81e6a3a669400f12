"""Writers for masks and images: PNG, NIfTI, DICOM SEG (one module per format)."""
