# Python 3.11 from Debian's packages, with what python:3.11-slim offers the Shopmode image
# (`python`, venv, CA certificates, a UTF-8 locale): the base for machines that cannot pull
# python:3.11-slim. Made by scripts/local-images.sh on a debootstrap-made Debian image.
ARG DEBIAN_IMAGE=localhost/shopmode-debian:bookworm
FROM ${DEBIAN_IMAGE}

ENV LANG=C.UTF-8

# The host's apt settings arrive as optional build secrets (scripts/host_package_config.py).
RUN --mount=type=secret,id=apt,target=/etc/apt/apt.conf.d/99host-package-config \
    --mount=type=secret,id=apt-auth,target=/etc/apt/auth.conf.d/host.conf \
    --mount=type=secret,id=host-ca,mode=0444 \
    apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 python3-venv python-is-python3 ca-certificates \
    && rm -rf /var/lib/apt/lists/*

CMD ["python"]
