"""The toy method: a small CNN encoder -> W+ on pseudo-pairs, for exercising the training stack."""
