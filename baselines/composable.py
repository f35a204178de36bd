"""Architecture family module (being written)."""
