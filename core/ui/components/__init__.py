"""Custom Streamlit components (TypeScript source + committed built bundle each)."""
