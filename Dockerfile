# drainscale off Heroku: `docker build -t drainscale .` then
#   docker run --rm -e PORT=8080 -p 8080:8080 drainscale                      # config.sample.yaml (dry run)
#   docker run --rm -e PORT=8080 -p 8080:8080 -v $PWD/config.yaml:/etc/drainscale/config.yaml:ro drainscale
# The drain listens on $PORT (the shipped configs read it; 8080 without it). GET /healthz answers `ok`.

# Build stage: the release binary, without debug info and symbols (the repository's release profile keeps
# line tables for profiling; the image does not need them).
FROM rust:1-slim-bookworm AS build
WORKDIR /src
ENV CARGO_PROFILE_RELEASE_DEBUG=0 \
    CARGO_PROFILE_RELEASE_STRIP=symbols
# The manifest first, with stub sources, so the dependencies are a cached layer of their own.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs \
 && for b in parse window drain_load simulate redis_store; do echo 'fn main() {}' > "benches/$b.rs"; done \
 && cargo build --release --locked --bin drainscale \
 && rm -rf src benches
COPY src src
COPY benches benches
# Newer mtimes than the stubs' build, so cargo rebuilds the crate itself.
RUN touch src/main.rs src/lib.rs \
 && cargo build --release --locked --bin drainscale \
 && cp target/release/drainscale /drainscale

# Final stage: glibc and libgcc only (what the binary links; TLS roots are compiled in), no shell, uid 65532.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /drainscale /usr/local/bin/drainscale
COPY config.sample.yaml /etc/drainscale/config.yaml
ENV PORT=8080
EXPOSE 8080
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/drainscale", "run"]
CMD ["/etc/drainscale/config.yaml"]
