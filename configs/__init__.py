"""Configs: one `get_config()` per job (demo, render defaults, benchmarks, training, W+ / PTI).

They are a package so configs import each other (`from configs import generators, wplus`) and so
`inversion3d demo` / `--generator default` find them from any working directory; they are also
loaded by path (ml_collections' `--config=configs/x.py --config.a.b=value`). Library code never
imports them: configs are passed in as values.
"""
