"""Inversion machinery shared by the methods: optimisation (W+, PTI; optimization.py), visibility
masks, and the pieces every feed-forward pipeline uses (common.py). The per-method pipelines live in
inversion3d/methods/<method>/pipeline.py."""
