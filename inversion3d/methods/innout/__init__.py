"""In-N-Out (CVPR'24): composite OOD inversion of images and videos (in-n-out.md)."""
