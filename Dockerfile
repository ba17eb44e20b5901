# syntax=docker/dockerfile:1
# Build stage: the same Debian packages and the same build the README's
# `make build` runs (scripts/install-deps.sh + CMake Release), so what CI tests
# is what the image runs.
FROM debian:bookworm-slim AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN ./scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DAA_TESTS=OFF -DAA_BENCH=OFF \
 && cmake --build build/release -j"$(nproc)" --target asterisk-api ari-sim \
 && strip build/release/asterisk-api build/release/ari-sim

# Runtime stage: the binaries and their runtime libraries only, as a non-root user.
FROM debian:bookworm-slim AS runtime
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends libssl3 libspdlog1.10 libfmt9 libsqlite3-0 libspeexdsp1 curl ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin asterisk-api
WORKDIR /app
COPY --from=build /src/build/release/asterisk-api /src/build/release/ari-sim /usr/local/bin/
USER asterisk-api
ENV API_HOST=0.0.0.0 API_PORT=3456
EXPOSE 3456
HEALTHCHECK --interval=15s --timeout=3s --start-period=5s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${API_PORT}/health" -H "X-API-Key: ${API_KEY}" >/dev/null || exit 1
ENTRYPOINT ["/usr/local/bin/asterisk-api"]
