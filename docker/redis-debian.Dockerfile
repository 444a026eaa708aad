# Debian's redis-server with the official Redis image's contract: `redis-server [options]`
# (or options alone) as the command, data in /data, reachable from other containers. For
# machines that cannot pull the official image; made by scripts/local-images.sh.
ARG DEBIAN_IMAGE=localhost/shopmode-debian:bookworm
FROM ${DEBIAN_IMAGE}

RUN --mount=type=secret,id=apt,target=/etc/apt/apt.conf.d/99host-package-config \
    --mount=type=secret,id=apt-auth,target=/etc/apt/auth.conf.d/host.conf \
    --mount=type=secret,id=host-ca,mode=0444 \
    apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir /data && chown redis:redis /data

COPY redis-entrypoint.sh /usr/local/bin/redis-entrypoint.sh

USER redis
WORKDIR /data
VOLUME ["/data"]
EXPOSE 6379

HEALTHCHECK --interval=5s --timeout=3s --retries=10 \
    CMD ["sh", "-c", "redis-cli ping | grep -q PONG"]

ENTRYPOINT ["sh", "/usr/local/bin/redis-entrypoint.sh"]
CMD ["redis-server"]
