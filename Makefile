# deltaprop: `make demo` runs the main job, `make test` runs lint, types and tests.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed-data
TEST_STAMP := $(VENV)/.installed-test
# A CPU build of torch, when this machine has one on local disk, lets the tests
# also run the core on torch tensors; elsewhere those tests skip with a reason.
TORCH_WHEEL := $(wildcard /opt/wheels/torch-2.13.0+cpu-*.whl)

.PHONY: demo test lint typecheck unit stress bench clean

# The sources the compiled kernels are built from (compiled/cache.py's SOURCES): an edit
# builds them again (setup.py compiles them ahead of time into compiled/_aot_<key>).
KERNEL_SOURCES := $(addprefix src/deltaprop/,compiled/kernels.py compiled/sparse.py compiled/codes.py \
	compiled/aot.py activations.py)

# The package with its data extra: enough for the demo.
$(STAMP): pyproject.toml setup.py $(KERNEL_SOURCES)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e ".[data]"
	touch $(STAMP)

# The test extra on top (and torch, where a CPU wheel is on local disk).
$(TEST_STAMP): $(STAMP)
	$(PIP) install --quiet -e ".[test]"
ifneq ($(TORCH_WHEEL),)
	$(PIP) install --quiet torch==2.13.0
endif
	touch $(TEST_STAMP)

# The main job: train the default network on MNIST-1D (generated locally, no download),
# report test accuracy beside the published figures, write model, history and plot to out/;
# then the worked example of backpropagation as a page to open.
# MNIST-1D's products (batches of 64 × 40 … 256) are too small for BLAS threads to pay:
# one thread trains in ~30 s (the engine is compiled at install), and two can take
# minutes on a machine that is busy.
demo: $(STAMP)
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
		$(VENV)/bin/deltaprop train mnist1d -o out/mnist1d.safetensors --force
	$(VENV)/bin/deltaprop explain --format html -o out/explain.html --force

lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

typecheck: $(TEST_STAMP)
	$(VENV)/bin/mypy

unit: $(TEST_STAMP)
	$(PY) -m pytest -q

test: lint typecheck unit

# The hardening tests with ten times the fuzzing examples (about 3 minutes).
stress: $(TEST_STAMP)
	DELTAPROP_STRESS=10 $(PY) -m pytest -q tests/test_hardening.py

# deltaprop beside scikit-learn's MLP, PyTorch and JAX (jit + lax.scan over each epoch) on
# the CPU (benchmarks/run.py): medians, ratios, the GEMM limit and the floor, compile
# time, memory and scaling, at one and at two threads; several minutes. JAX is for the
# benchmarks only (never a dependency of deltaprop). BENCH_ARGS passes options, e.g.
# BENCH_ARGS="--only P6 --reps 3" (a quick look) or BENCH_ARGS="--threads 1 --only P2 P5".
BENCH_ARGS ?=
bench: $(STAMP)
	$(PIP) install --quiet "scikit-learn>=1.3" threadpoolctl torch==2.13.0 "jax>=0.4.30" "jaxlib>=0.4.30"
	$(PY) benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis build
	rm -f src/deltaprop/compiled/_aot_*.so
