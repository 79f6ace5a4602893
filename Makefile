# Two commands do all set-up on a fresh machine with python3: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RUNTIME_STAMP := $(VENV)/.runtime-stamp
TEST_STAMP := $(VENV)/.test-stamp
export JAX_COMPILATION_CACHE_DIR ?= $(CURDIR)/.jax_cache

.PHONY: demo test test-slow bench bench-quick ship-default train-default-encoders clean

# The runtime: the package alone (no test extra, no torch). facenet-pytorch ships the MTCNN weights
# `inversion3d preprocess` (and the demo's photo) reads; installed with --no-deps (pip's install_requires
# cannot say that) because its dependencies (torch, torchvision) are not needed.
$(RUNTIME_STAMP): setup.py Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	$(PY) -m pip install --quiet --no-deps facenet-pytorch==2.6.0
	touch $(RUNTIME_STAMP)

# The test extra on top (pytest, xdist, hypothesis, torch for the reference .pth files).
$(TEST_STAMP): $(RUNTIME_STAMP)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(TEST_STAMP)

# The main job on the embedded generator -> out/demo/index.html (app/demo_pipeline.py; configs/demo.py).
demo: $(RUNTIME_STAMP)
	$(PY) -m inversion3d demo --config configs/demo.py --out out/demo

# Two pytest workers (pytest-xdist, in the test extra), one test file each at a time so module fixtures
# are built once: on a 2-core CPU the suite is largely single-threaded compilation, and two workers
# took it from 22.4 to 15.4 min on a cold compilation cache.
test: $(TEST_STAMP)
	$(PY) -m pytest -q -n 2 --dist loadfile tests

# The real methods' training runs through the loop (loss falls, resume == straight, 8 devices == 1):
# tens of minutes on a 2-core CPU, so outside `make test` (tests marked `slow`).
test-slow: $(TEST_STAMP)
	$(PY) -m pytest -q -n 2 --dist loadfile --runslow -m slow tests

# One summary table (compile, steady time, memory, FLOPs, fraction of matmul peak per workload):
# out/bench/bench.md + bench.json; see experiments/benchmarks/README.md. Full sizes take an hour or more on 2 CPUs.
bench: $(RUNTIME_STAMP)
	$(PY) experiments/benchmarks/run_all.py --out out/bench

bench-quick: $(RUNTIME_STAMP)
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

# The encoders of the packaged default generator (issue 17 item 1), trained in order on its pseudo-pairs +
# the synthetic train split, then exported into the package: GOAE (stage 1, then AFA on it) and pSp,
# ~40 min in all on an idle 2-core CPU (configs/default_*.py). Run again to resume an interrupted run.
SYNTH ?= /work/data/synth64
ENC_OUT ?= out/default_encoders
ENC_ASSETS := inversion3d/assets/encoders
TRAIN := $(PY) -m experiments.train
train-default-encoders: $(STAMP)
	mkdir -p $(ENC_OUT)
	test -f $(ENC_OUT)/depth_avg.json || $(PY) -m inversion3d depth-avg --config configs/default_goae_stage1.py \
		--num 512 --batch 16 --out $(ENC_OUT)/depth_avg.json
	$(TRAIN) --config=configs/default_goae_stage1.py --workdir=$(ENC_OUT)/goae1 --config.data.folder=$(SYNTH) \
		--config.losses.bg_depth_file=$(ENC_OUT)/depth_avg.json
	$(TRAIN) --config=configs/default_goae_stage2.py --workdir=$(ENC_OUT)/goae2 --config.data.folder=$(SYNTH) \
		--config.init_from=$(ENC_OUT)/goae1
	$(TRAIN) --config=configs/default_psp.py --workdir=$(ENC_OUT)/psp --config.data.folder=$(SYNTH)
	rm -rf $(ENC_ASSETS)/goae.new $(ENC_ASSETS)/psp.new
	$(PY) -m inversion3d export $(ENC_OUT)/goae2 --out $(ENC_ASSETS)/goae.new --storage bfloat16
	$(PY) -m inversion3d export $(ENC_OUT)/psp --out $(ENC_ASSETS)/psp.new --storage bfloat16
	rm -rf $(ENC_ASSETS)/goae $(ENC_ASSETS)/psp
	mv $(ENC_ASSETS)/goae.new $(ENC_ASSETS)/goae && mv $(ENC_ASSETS)/psp.new $(ENC_ASSETS)/psp

clean:
	rm -rf out .jax_cache .pytest_cache .hypothesis
