# The torghut image: the one binary on distroless (glibc, CA certificates, no shell), run as
# the unprivileged user 65532. Build from the repository root:
#   docker build -t torghut:dev .

FROM rust:1.95-bookworm AS builder
WORKDIR /src
# Only what the build reads: the workspace, its crates and the migrations embedded in the binary.
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates
COPY migrations ./migrations
RUN cargo build --release --locked -p torghut \
 && install -D -m 0755 target/release/torghut /out/torghut \
 && strip /out/torghut

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=builder /out/torghut /usr/local/bin/torghut
USER 65532:65532
EXPOSE 8181
ENV APP_ENV=prod \
    TORGHUT_LOG_FORMAT=json
ENTRYPOINT ["/usr/local/bin/torghut"]
CMD ["serve", "--bind", "0.0.0.0:8181"]
