"""Dual Encoder on PanoHead (encoders.md §6): two TriPlaneNet-style encoders stitched by visibility."""
