# Two commands do all set-up on a fresh machine with python3: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
export JAX_COMPILATION_CACHE_DIR ?= $(CURDIR)/.jax_cache

.PHONY: demo test bench clean

$(STAMP): setup.py Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	# MTCNN weights for `inversion3d preprocess` ship inside this wheel; --no-deps because its
	# declared dependencies (torch, torchvision, ...) are not needed: the .pt files are read safely.
	$(PY) -m pip install --quiet --no-deps facenet-pytorch==2.6.0
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m inversion3d demo --config configs/demo.py --out out/demo

test: $(STAMP)
	$(PY) -m pytest -q tests

bench: $(STAMP)
	$(PY) experiments/benchmarks/run_all.py --out out/bench

clean:
	rm -rf out .jax_cache .pytest_cache
