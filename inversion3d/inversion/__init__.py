"""Feed-forward inversion pipelines (GOAE, pSp / e4e, TriPlaneNet v2, Dual Encoder); see pipelines.py."""
