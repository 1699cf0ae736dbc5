# Everything a fresh machine needs: `make demo` and `make test` set up .venv and the system packages.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
BENCH  := $(VENV)/bin/bench
# The CPU build of torch on this kind of machine; on a GPU machine install your CUDA torch first.
TORCH_SPEC ?= torch==2.13.0
STAMP  := $(VENV)/.installed-stamp
# DistillMOS ships its weights, but its declared requirements (torchaudio) would replace the pinned torch:
# install it without them (the suite builds the model itself; xls-r-sqa only for the equality test).
# Resemblyzer (speaker_sim) ships its encoder, but declares webrtcvad (no wheel; pyproject installs
# webrtcvad-wheels instead) and the obsolete `typing` backport. openai-whisper (wer, cer) declares triton (GPU
# kernels, hundreds of MB); its other requirements are in pyproject.toml.
NODEPS_SPEC ?= distillmos==0.9.1 xls-r-sqa==0.1.0 resemblyzer==0.1.4 openai-whisper==20250625
# `make test` runs in parallel, pytest-xdist workers (PYTEST_WORKERS=0: one process), a test
# file's tests in one worker (module fixtures are built once), the heaviest files first (tests/file_costs.json,
# refreshed by scripts/test_costs.py), and lists the 15 slowest tests at the end; a worker that dies ends the
# run as failed (never replaced: after a crash, loadfile scheduling can hang).
# One worker more than the machine has cores: the browser, Ray and kill tests spend much of their time waiting
# (audio plays in real time, processes start), and the extra worker keeps the cores busy meanwhile.
PYTEST_WORKERS ?= $(shell $(PYTHON) -c "import os; print(len(os.sched_getaffinity(0)) + 1 if hasattr(os, 'sched_getaffinity') else (os.cpu_count() or 1) + 1)")
PYTEST_ARGS ?=

.PHONY: setup sysdeps demo check test test-slow bench clean lint

setup: sysdeps $(STAMP)

sysdeps:
	@bash scripts/setup_system.sh

# The last step installs the official EnCodec/DAC packages for the equality tests without their
# dependencies, into a folder of their own that only those tests put on sys.path (the DAC wheel also
# installs a top-level `tests` package, which would shadow ours); see tests/reference_packages.txt.
$(STAMP): pyproject.toml tests/reference_packages.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e '.[dev]'
	$(PY) -m pip install -q --no-deps --upgrade --target $(VENV)/reference-packages -r tests/reference_packages.txt
	$(PY) -m pip install -q --no-deps $(NODEPS_SPEC)
	@touch $(STAMP)

demo: setup
	$(BENCH) run --systems all --data demo --out runs/demo

# The layers of the code and no import circles (contracts in pyproject.toml [tool.importlinter]), and ruff
# over every Python file of the repository (scripts and tests included).
check: setup
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check .

test: setup check
	BENCH_ARTIFACTS=1 $(PY) -m pytest -m "not slow" -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder --max-worker-restart=0 --durations=15 $(PYTEST_ARGS)

test-slow: setup
	$(PY) -m pytest -m slow -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder --max-worker-restart=0 --durations=15 $(PYTEST_ARGS)

bench: setup
	$(PY) scripts/benchmark.py

lint: check

clean:
	rm -rf $(VENV) runs .pytest_cache
