# syntax=docker/dockerfile:1
# rekcheck as a container for scheduled jobs (ECS, EventBridge Scheduler, Kubernetes CronJob).
#   docker build -t rekcheck .
#   docker run --rm -e AWS_REGION=us-east-1 -e REKCHECK_OUT=s3://reports/rekcheck/ rekcheck report --all-projects --since 24h
# The build stage uses the toolchain of rust-toolchain.toml; the runtime stage holds the binary,
# CA certificates and a non-root user, nothing else.

FROM rust:1.95.0-slim-trixie AS build
WORKDIR /src
# The image's toolchain is the one rust-toolchain.toml names; no component download.
ENV RUSTUP_TOOLCHAIN=1.95.0
COPY . .
# --locked: the dependency versions of Cargo.lock, as CI builds them. The caches keep the
# registry and the target folder between builds (BuildKit).
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin rekcheck \
    && install -m 0755 target/release/rekcheck /usr/local/bin/rekcheck

FROM debian:trixie-slim
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /work --create-home rekcheck
COPY --from=build /usr/local/bin/rekcheck /usr/local/bin/rekcheck
USER 10001:10001
WORKDIR /work
# Local output, when --out is not s3://, goes to /work (the user's home; /tmp for staging).
ENV REKCHECK_LOG_FORMAT=json
ENTRYPOINT ["rekcheck"]
CMD ["--help"]
