# Shopmode API image: the package, its CLI (`shopmode`), the embedded SmolLM2 model and
# llama.cpp's OpenAI-compatible server (the compose file's optional `llm` service).
#
# PYTHON_IMAGE is python:3.11-slim; a machine that cannot pull it builds this same file on
# a Debian-made base (scripts/local-images.sh). The host's package-index settings may be
# given as build secrets (`apt`, `apt-auth`, `pip`, `host-ca`; scripts/compose-test.sh does):
# they are mounted only while a step runs and never stored in a layer. Without them the
# build uses the base image's own apt sources and PyPI.
ARG PYTHON_IMAGE=python:3.11-slim

# Wheels the builder already has, given as `--build-context host-wheels=DIR`
# (scripts/compose-test.sh passes the llama-cpp-python wheel from the host's pip cache, so a
# first build need not compile it again). Without one this stage is empty.
FROM scratch AS host-wheels

FROM ${PYTHON_IMAGE} AS build
# Lets `make compose-clean` find this stage's image, which a build leaves untagged.
LABEL org.shopmode.stage="build"

# llama-cpp-python builds from source: portable flags, or it dies with "Illegal
# instruction" on hosts whose CPU lacks what the build machine advertised.
ENV CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF" \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN --mount=type=secret,id=apt,target=/etc/apt/apt.conf.d/99host-package-config \
    --mount=type=secret,id=apt-auth,target=/etc/apt/auth.conf.d/host.conf \
    --mount=type=secret,id=host-ca,mode=0444 \
    apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends build-essential cmake \
    && rm -rf /var/lib/apt/lists/*

RUN python -m venv /opt/shopmode
WORKDIR /src

# Third-party dependencies in a layer of their own, keyed on pyproject.toml alone: a code
# change does not recompile llama-cpp-python (minutes of C++), and the pip cache mount
# keeps its wheel for when pyproject.toml does change.
COPY pyproject.toml ./
RUN --mount=type=cache,id=shopmode-pip,target=/root/.cache/pip,sharing=locked \
    --mount=type=secret,id=pip,target=/etc/pip.conf \
    --mount=type=secret,id=host-ca,mode=0444 \
    --mount=type=bind,from=host-wheels,target=/wheels \
    python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" >/tmp/requirements.txt \
    && /opt/shopmode/bin/pip install --find-links /wheels -r /tmp/requirements.txt "llama-cpp-python[server]>=0.3"

COPY README.md ./
COPY shopmode ./shopmode
COPY features ./features
COPY models ./models
COPY service ./service
COPY world ./world
RUN --mount=type=cache,id=shopmode-pip,target=/root/.cache/pip,sharing=locked \
    --mount=type=secret,id=pip,target=/etc/pip.conf \
    --mount=type=secret,id=host-ca,mode=0444 \
    /opt/shopmode/bin/pip install --no-deps . \
    && /opt/shopmode/bin/pip check

FROM ${PYTHON_IMAGE}

RUN --mount=type=secret,id=apt,target=/etc/apt/apt.conf.d/99host-package-config \
    --mount=type=secret,id=apt-auth,target=/etc/apt/auth.conf.d/host.conf \
    --mount=type=secret,id=host-ca,mode=0444 \
    apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 shopmode

COPY --from=build /opt/shopmode /opt/shopmode
ENV PATH="/opt/shopmode/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    OMP_NUM_THREADS=1 \
    OPENBLAS_NUM_THREADS=1 \
    MKL_NUM_THREADS=1 \
    SHOPMODE_HOME=/data

RUN mkdir -p /data && chown shopmode /data
USER shopmode
WORKDIR /home/shopmode
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]

CMD ["shopmode", "serve", "--host", "0.0.0.0", "--port", "8000"]
