"""The command layer: the `inversion3d` command (cli.py parses and dispatches), one module per
command (demo, render, convert / info, invert with its shared inputs, preprocess, eval) and
loading.py (config files, generators, encoders) for the commands, benchmarks and experiments.
The library (inversion3d/ outside app/) never imports this package."""
