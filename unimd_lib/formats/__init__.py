"""Readers and writers of the released on-disk formats (no torch in here)."""
