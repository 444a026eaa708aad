# shellcheck shell=bash
# Shared by scripts/local-images.sh and scripts/compose-test.sh (sourced, not run).
#
# Picks the container engine (a Docker daemon that answers, else podman), gives podman the
# settings this kind of machine needs, and turns the host's package-index configuration
# (scripts/host_package_config.py) into build secrets.

# Docker when a daemon answers; podman otherwise (the `docker` client alone is not enough).
container_engine() {
    if command -v docker >/dev/null 2>&1 && timeout 20 docker info >/dev/null 2>&1; then
        echo docker
    elif command -v podman >/dev/null 2>&1; then
        echo podman
    else
        return 1
    fi
}

# Podman as root without systemd: crun refuses hybrid cgroups ("cgroups in hybrid mode not
# supported"), and the runtime may not raise resource limits here (setrlimit is refused for
# podman's defaults, and for this host's own hard limits), so runc, cgroupfs and modest
# explicit limits. CONTAINERS_CONF makes every podman call below (and podman-compose's) read them.
podman_settings() {
    local dir=$1
    cat >"$dir/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
    export CONTAINERS_CONF="$dir/containers.conf"
}

image_exists() {
    "$ENGINE" image inspect "$1" >/dev/null 2>&1
}

# `build_args HOST_CONFIG_DIR`: fills BUILD_ARGS with the engine's build flags and one
# secret per file the host configuration holds (the Dockerfiles mount them all optionally).
build_args() {
    local dir=$1 file name
    BUILD_ARGS=()
    if [ "$ENGINE" = podman ]; then
        # Docker image format keeps HEALTHCHECK (OCI drops it); the host network is how
        # this host reaches its mirrors and indexes.
        BUILD_ARGS+=(--format docker --network host)
    fi
    for file in "$dir"/pip.conf "$dir"/apt.conf "$dir"/apt-auth.conf "$dir"/host-ca.pem; do
        [ -s "$file" ] || continue
        name=$(basename "$file")
        BUILD_ARGS+=(--secret "id=${name%.*},src=$file")
    done
}

engine_build() {
    if [ "$ENGINE" = docker ]; then
        DOCKER_BUILDKIT=1 docker build "${BUILD_ARGS[@]}" "$@"
    else
        podman build "${BUILD_ARGS[@]}" "$@"
    fi
}

say() {
    printf '\n== %s\n' "$*"
}
