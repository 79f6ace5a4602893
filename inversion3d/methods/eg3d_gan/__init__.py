"""EG3D / PanoHead GAN training of the generator itself (train.py, losses.py)."""
