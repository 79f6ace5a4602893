"""TriPlaneNet v2 (encoders.md §4): pSp w+, then a tri-plane encoder refines the generator's planes."""
