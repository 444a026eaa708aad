#!/usr/bin/env bash
# Base images made on this machine, for when no public container registry answers:
#
#   localhost/shopmode-debian:bookworm      debootstrap --variant=minbase, from the host's mirror
#   localhost/shopmode-python:3.11-debian   Python 3.11 from Debian (docker/python-debian.Dockerfile)
#   localhost/shopmode-redis:7-debian       Debian's redis-server (docker/redis-debian.Dockerfile)
#
#   scripts/local-images.sh HOST_CONFIG_DIR [--refresh]
#
# HOST_CONFIG_DIR is what scripts/host_package_config.py wrote (the host's Debian mirror and
# package settings, passed to the builds as secrets). Images already there are kept unless
# --refresh. Needs root (debootstrap) and ENGINE (podman or docker; detected when unset).
# The Shopmode images are then built on them with
#   --build-arg PYTHON_IMAGE=localhost/shopmode-python:3.11-debian
# and the compose file's redis service run with SHOPMODE_REDIS_IMAGE=localhost/shopmode-redis:7-debian.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/container-lib.sh
. scripts/container-lib.sh

DEBIAN_IMAGE=localhost/shopmode-debian:bookworm
PYTHON_IMAGE=localhost/shopmode-python:3.11-debian
REDIS_IMAGE=localhost/shopmode-redis:7-debian

host_config=${1:?usage: scripts/local-images.sh HOST_CONFIG_DIR [--refresh]}
refresh=${2:-}
ENGINE=${ENGINE:-$(container_engine)}

root=
trap '[ -z "$root" ] || rm -rf "$root" "$root.log"' EXIT

# What debian:bookworm-slim (under python:3.11-slim) does to stay small: no apt caches or
# downloaded packages left in layers, no translations, no documentation but copyrights.
slim_settings() {
    local root=$1
    cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
    echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
    cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
    find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/cache/apt/*.bin \
        "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
}

debian_image() {
    local mirror security
    mirror=$(cat "$host_config/debian-mirror" 2>/dev/null || true)
    security=$(cat "$host_config/debian-security-mirror" 2>/dev/null || true)
    root=$(mktemp -d /var/tmp/shopmode-debootstrap.XXXXXX)
    say "debootstrap bookworm from ${mirror:-the default mirror}"
    # An empty mirror argument is no argument: debootstrap then picks its own default.
    debootstrap --variant=minbase bookworm "$root" ${mirror:+"$mirror"} >"$root.log" 2>&1 \
        || { tail -20 "$root.log"; return 1; }
    mirror=$(awk '/^deb /{print $2; exit}' "$root/etc/apt/sources.list")
    {
        echo "deb $mirror bookworm main"
        echo "deb $mirror bookworm-updates main"
        [ -z "$security" ] || echo "deb $security bookworm-security main"
    } >"$root/etc/apt/sources.list"
    slim_settings "$root"
    tar -C "$root" -c . | "$ENGINE" import --change 'CMD ["bash"]' - "$DEBIAN_IMAGE" >/dev/null
}

build_on_debian() {
    local image=$1 dockerfile=$2
    say "building $image"
    engine_build --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE" -f "docker/$dockerfile" -t "$image" docker
}

build_args "$host_config"
if [ "$refresh" = --refresh ] || ! image_exists "$DEBIAN_IMAGE"; then
    debian_image
fi
if [ "$refresh" = --refresh ] || ! image_exists "$PYTHON_IMAGE"; then
    build_on_debian "$PYTHON_IMAGE" python-debian.Dockerfile
fi
if [ "$refresh" = --refresh ] || ! image_exists "$REDIS_IMAGE"; then
    build_on_debian "$REDIS_IMAGE" redis-debian.Dockerfile
fi
echo "SHOPMODE_PYTHON_IMAGE=$PYTHON_IMAGE"
echo "SHOPMODE_REDIS_IMAGE=$REDIS_IMAGE"
