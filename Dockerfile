# Shopmode API image: the package, its CLI (`shopmode`) and the embedded SmolLM2 model.
FROM python:3.11-slim AS build

# llama-cpp-python builds from source: portable flags, or it dies with "Illegal
# instruction" on hosts whose CPU lacks what the build machine advertised.
ENV CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF" \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential cmake \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY pyproject.toml README.md* ./
COPY shopmode ./shopmode
COPY features ./features
COPY models ./models
COPY service ./service
COPY world ./world
RUN python -m venv /opt/shopmode \
    && /opt/shopmode/bin/pip install . "llama-cpp-python[server]>=0.3"

FROM python:3.11-slim

RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
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

HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]

CMD ["shopmode", "serve", "--host", "0.0.0.0", "--port", "8000"]
