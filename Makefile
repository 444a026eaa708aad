# The commands people and CI both run. Each target sets up .venv first when needed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# llama-cpp-python builds from source: portable flags, or it dies with "Illegal instruction"
# on CPUs that advertise instructions the VM does not allow.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF
# One BLAS/OpenMP thread per process: predictable latency on a small shared machine.
export OMP_NUM_THREADS ?= 1
export OPENBLAS_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1

.PHONY: setup demo test lint format bench bench-quick clean browser compose-test compose-clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Headless Chromium for the browser test (Debian packages; Playwright's own download is not used).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
	    || echo "warning: could not install chromium; browser tests will be skipped"; \
	  else echo "warning: chromium not found; browser tests will be skipped"; fi; }

demo: setup
	$(BIN)/shopmode demo

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: setup browser lint
	$(BIN)/pytest

bench: setup
	$(BIN)/python -m bench.run

bench-quick: setup
	$(BIN)/python -m bench.run --quick

# The demo compose stack built and run for real (Docker, or podman installed with apt when
# no engine answers; see scripts/compose-test.sh). Leaves nothing running; keeps images.
compose-test: setup
	PYTHON=$(BIN)/python scripts/compose-test.sh

# The images compose-test built or made, and the build stages it left untagged (the next
# run makes them again).
compose-clean:
	bash -c '. scripts/container-lib.sh && ENGINE=$$(container_engine) || exit 0; \
	  $$ENGINE rmi -f localhost/shopmode:compose-test localhost/shopmode-build:compose-test \
	    localhost/shopmode-python:3.11-debian \
	    localhost/shopmode-redis:7-debian localhost/shopmode-debian:bookworm; \
	  $$ENGINE image prune -f --filter label=org.shopmode.stage=build || true'

clean:
	rm -rf $(VENV) .shopmode .pytest_cache .mypy_cache .ruff_cache
