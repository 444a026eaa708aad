#!/usr/bin/env bash
# `make compose-test`: the demo compose stack, built and run for real, on Docker or podman.
#
#  1. a container engine: Docker when its daemon answers, else podman (podman, podman-compose
#     and runc are installed with apt when missing, as root), with the settings podman needs
#     on this kind of machine (scripts/container-lib.sh);
#  2. how this host reaches its package indexes (scripts/host_package_config.py), passed to
#     every build as secrets: nothing about the machine is stored in the repository;
#  3. the public bases (python:3.11-slim, redis:7-alpine) when a registry serves them, else
#     ones made here from Debian's mirror (scripts/local-images.sh; SHOPMODE_LOCAL_BASES=1
#     forces them);
#  4. the Shopmode image built from this tree;
#  5. tests/test_compose_stack.py (marker `compose`): up, seed, API, LLM profile, Redis restart;
#  6. whatever happened, the project's containers, volumes and networks and the temporary
#     files are removed. Images stay as the next run's build cache (`make compose-clean`).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/container-lib.sh
. scripts/container-lib.sh

PYTHON=${PYTHON:-.venv/bin/python}
IMAGE=${SHOPMODE_IMAGE:-localhost/shopmode:compose-test}
BUILD_IMAGE=localhost/shopmode-build:compose-test
PROJECT=shopmode-test-$$
PUBLIC_PYTHON=docker.io/library/python:3.11-slim
PUBLIC_REDIS=docker.io/library/redis:7-alpine
work=$(mktemp -d /tmp/shopmode-compose.XXXXXX)
COMPOSE=()

apt_install() {
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "error: compose-test needs $* (install them, or run as root on Debian)" >&2
        exit 1
    fi
    say "installing $*"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

choose_engine() {
    if ENGINE=$(container_engine) && [ "$ENGINE" = docker ]; then
        if docker compose version >/dev/null 2>&1; then
            COMPOSE=(docker compose)
        else
            COMPOSE=(docker-compose)
        fi
        return
    fi
    local missing=()
    command -v podman >/dev/null 2>&1 || missing+=(podman)
    command -v podman-compose >/dev/null 2>&1 || missing+=(podman-compose)
    command -v runc >/dev/null 2>&1 || missing+=(runc)
    [ ${#missing[@]} = 0 ] || apt_install "${missing[@]}"
    ENGINE=podman
    COMPOSE=(podman-compose)
    podman_settings "$work"
}

pulled() {
    image_exists "$1" || timeout 300 "$ENGINE" pull -q "$1" >/dev/null 2>&1
}

choose_bases() {
    if [ -z "${SHOPMODE_LOCAL_BASES:-}" ] && pulled "$PUBLIC_PYTHON" && pulled "$PUBLIC_REDIS"; then
        SHOPMODE_PYTHON_IMAGE=$PUBLIC_PYTHON
        SHOPMODE_REDIS_IMAGE=$PUBLIC_REDIS
        return
    fi
    say "no public registry answers: bases made from this host's Debian mirror"
    command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
    eval "$(ENGINE=$ENGINE scripts/local-images.sh "$work/host" | tee -a /dev/stderr \
        | grep '^SHOPMODE_[A-Z_]*_IMAGE=')"
}

# The llama-cpp-python wheel the host's pip built (make setup): the image takes it instead
# of compiling llama.cpp again (minutes); an empty directory when the host has none.
host_wheels() {
    mkdir -p "$work/wheels"
    "$PYTHON" -m pip cache list 'llama_cpp_python*' --format=abspath 2>/dev/null \
        | xargs -r cp -t "$work/wheels"
    echo "host wheels: $(ls "$work/wheels")"
}

image_id() {
    "$ENGINE" image inspect --format '{{.Id}}' "$1" 2>/dev/null || true
}

# `replacing_build TAG [build flags]`: builds this tree as TAG, then removes the image TAG
# named before if the build replaced it.
replacing_build() {
    local tag=$1 previous
    shift
    previous=$(image_id "$tag")
    engine_build --build-arg "PYTHON_IMAGE=$SHOPMODE_PYTHON_IMAGE" \
        --build-context "host-wheels=$work/wheels" -t "$tag" "$@" .
    if [ -n "$previous" ] && [ "$previous" != "$(image_id "$tag")" ]; then
        "$ENGINE" rmi "$previous" >/dev/null 2>&1 || true
    fi
}

free_port() {
    "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

cleanup() {
    local label="label=com.docker.compose.project=$PROJECT" ids=()
    if [ ${#COMPOSE[@]} -gt 0 ]; then
        mapfile -t ids < <("$ENGINE" ps -a -q --filter "$label" 2>/dev/null)
        [ ${#ids[@]} = 0 ] || "$ENGINE" rm -f -v "${ids[@]}" >/dev/null 2>&1 || true
        "${COMPOSE[@]}" -p "$PROJECT" -f docker-compose.yml down -v >/dev/null 2>&1 || true
        mapfile -t ids < <("$ENGINE" volume ls -q --filter "$label" 2>/dev/null)
        [ ${#ids[@]} = 0 ] || "$ENGINE" volume rm -f "${ids[@]}" >/dev/null 2>&1 || true
        mapfile -t ids < <("$ENGINE" network ls -q --filter "$label" 2>/dev/null)
        [ ${#ids[@]} = 0 ] || "$ENGINE" network rm "${ids[@]}" >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

SECONDS=0
choose_engine
say "engine: $ENGINE (${COMPOSE[*]})"
"$PYTHON" scripts/host_package_config.py "$work/host"
choose_bases
bases_s=$SECONDS

say "building $IMAGE on $SHOPMODE_PYTHON_IMAGE"
host_wheels
build_args "$work/host"
# The build stage is tagged too, so that what a new build replaces (about 1 GB each) can be
# removed instead of piling up untagged.
replacing_build "$BUILD_IMAGE" --target build
replacing_build "$IMAGE"
build_s=$((SECONDS - bases_s))
"$ENGINE" images --filter reference="$IMAGE" --filter reference="$SHOPMODE_REDIS_IMAGE"

say "the stack: $PROJECT"
export SHOPMODE_COMPOSE="${COMPOSE[*]} -p $PROJECT -f docker-compose.yml"
if [ "$ENGINE" = docker ]; then
    SHOPMODE_COMPOSE="$SHOPMODE_COMPOSE --profile llm"
fi
export SHOPMODE_COMPOSE_ENGINE=$ENGINE SHOPMODE_COMPOSE_PROJECT=$PROJECT SHOPMODE_IMAGE=$IMAGE
export SHOPMODE_PYTHON_IMAGE SHOPMODE_REDIS_IMAGE
export SHOPMODE_API_PORT=${SHOPMODE_API_PORT:-$(free_port)}
export SHOPMODE_LLM_PORT=${SHOPMODE_LLM_PORT:-$(free_port)}
# The api uses the llm profile's server, with time enough for it on a busy machine.
export SHOPMODE_LLM_BACKEND=openai SHOPMODE_OPENAI_TIMEOUT_S=60
export SHOPMODE_DEMO_SIZE=${SHOPMODE_DEMO_SIZE:-default}
"$PYTHON" -m pytest -p no:cacheprovider -m compose -v tests/test_compose_stack.py
stack_s=$((SECONDS - bases_s - build_s))

printf '\ncompose-test passed in %d s: bases %d s, image %d s, stack %d s\n' \
    "$SECONDS" "$bases_s" "$build_s" "$stack_s"
