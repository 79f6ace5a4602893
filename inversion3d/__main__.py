"""`python -m inversion3d ...` runs the command-line interface."""
import sys

from inversion3d.cli import main

sys.exit(main())
