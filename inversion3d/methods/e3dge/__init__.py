"""E3DGE-style encoder: global pSp codes + local pixel-aligned features (pipeline.py, train.py)."""
