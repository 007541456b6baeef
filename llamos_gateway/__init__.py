"""LLAMOS gateway."""
