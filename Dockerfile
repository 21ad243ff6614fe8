# pgmon container image: the UI bundle built with Node, the agent with Rust, and a distroless
# runtime that runs as a non-root user on a read-only root filesystem (the agent writes
# nothing). Build: docker build -t pgmon . ; run: see docs/install.md.

# 1. The UI bundle, exactly as scripts/ui-check.sh and ui/package.json build it.
FROM node:20-bookworm AS web
WORKDIR /src/ui
COPY ui/package.json ui/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY ui/ ./
RUN npm run build

# 2. The agent. rust-embed puts ui/dist into the binary, so it gets the bundle just built.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY --from=web /src/ui/dist ./ui/dist
RUN cargo build --release --locked

# 3. Runtime: glibc + libgcc only, no shell, uid 65532.
FROM gcr.io/distroless/cc-debian12:nonroot
# One bundle: the UI is embedded in the binary. Nothing is copied to http.static_dir
# (/opt/pgmon/ui), so no disk copy can shadow the embedded one; mount a directory there only
# to serve a bundle of your own.
COPY --from=build /src/target/release/pgmon /usr/local/bin/pgmon
COPY config.pgmon.sample.yaml /config/pgmon.yaml
# --healthcheck reads the same config (http.bind) as the agent.
ENV PGMON_CONFIG=/config/pgmon.yaml
USER 65532:65532
EXPOSE 8181
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s CMD ["/usr/local/bin/pgmon", "--healthcheck"]
ENTRYPOINT ["/usr/local/bin/pgmon", "--config", "/config/pgmon.yaml"]
