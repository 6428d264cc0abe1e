"""Data stages: validation and conversion of instruction data (cleaning and dedup come later)."""
