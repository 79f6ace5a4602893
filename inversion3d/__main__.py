"""`python -m inversion3d ...` runs the command-line interface."""
import sys

from inversion3d.app.cli import main

sys.exit(main())
