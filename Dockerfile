# Build stage: compiles the native kernels (HMAC, person set; gcc, OpenSSL headers) into a wheel.
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev libssl-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY gateway ./gateway
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# Runtime: the wheels only (libcrypto is already in the base image), no compiler.
FROM python:3.11-slim
WORKDIR /app
COPY --from=build /wheels /wheels
COPY policies ./policies
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels && useradd --system gateway \
    && mkdir -p /var/lib/gateway && chown gateway /var/lib/gateway
USER gateway
EXPOSE 8000
CMD ["gateway", "serve", "--host", "0.0.0.0", "--port", "8000"]
