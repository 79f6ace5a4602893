"""pSp and e4e (encoders.md §2-§3): one folder, e4e is a pSp-style encoder of w + per-layer deltas."""
