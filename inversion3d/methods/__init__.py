"""One folder per inversion method (GOAE, pSp / e4e, TriPlaneNet v2, Dual, the toy method); see README.md.

`registry.py` maps method names to their folders; a folder holds the method's inference pipeline
(`pipeline.py`), its train step (`train.py`) and its method-specific losses.
"""
