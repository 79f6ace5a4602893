# Two commands do all set-up on a fresh machine with python3: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
export JAX_COMPILATION_CACHE_DIR ?= $(CURDIR)/.jax_cache

.PHONY: demo test test-slow bench bench-quick ship-default clean

# facenet-pytorch ships the MTCNN weights `inversion3d preprocess` reads; installed with --no-deps
# (pip's install_requires cannot say that) because its dependencies (torch, torchvision) are not needed.
$(STAMP): setup.py Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	$(PY) -m pip install --quiet --no-deps facenet-pytorch==2.6.0
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m inversion3d demo --config configs/demo.py --out out/demo

# Two pytest workers (pytest-xdist, in the test extra), one test file each at a time so module fixtures
# are built once: on a 2-core CPU the suite is largely single-threaded compilation, and two workers
# took it from 22.4 to 15.4 min on a cold compilation cache.
test: $(STAMP)
	$(PY) -m pytest -q -n 2 --dist loadfile tests

# The real methods' training runs through the loop (loss falls, resume == straight, 8 devices == 1):
# tens of minutes on a 2-core CPU, so outside `make test` (tests marked `slow`).
test-slow: $(STAMP)
	$(PY) -m pytest -q -n 2 --dist loadfile --runslow -m slow tests

# One summary table (compile, steady time, memory, FLOPs, fraction of matmul peak per workload):
# out/bench/bench.md + bench.json; see experiments/benchmarks/README.md. Full sizes take an hour or more on 2 CPUs.
bench: $(STAMP)
	$(PY) experiments/benchmarks/run_all.py --out out/bench

bench-quick: $(STAMP)
	$(PY) experiments/benchmarks/run_all.py --quick --out out/bench-quick

# The embedded `default` generator from a finished GAN run of configs/eg3d_gan.py: its G_ema exported into
# the package (replacing the old asset), then the README section "The embedded default generator" and
# docs/images/default_*.png regenerated from it (experiments/gan_report.py).
ASSET := inversion3d/assets/generators/default
ship-default: $(STAMP)
	@test -n "$(WORKDIR)" || { echo "usage: make ship-default WORKDIR=<an eg3d_gan run's workdir>"; exit 2; }
	rm -rf $(ASSET).new
	$(PY) -m inversion3d export $(WORKDIR) --out $(ASSET).new
	rm -rf $(ASSET) && mv $(ASSET).new $(ASSET)
	$(PY) experiments/gan_report.py $(WORKDIR) --generator $(ASSET) --out docs/images --readme README.md

clean:
	rm -rf out .jax_cache .pytest_cache .hypothesis
