"""GOAE (encoders.md §1): Swin encoder -> w+, AFA feature refinement, occlusion-aware mix."""
