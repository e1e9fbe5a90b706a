# mcp-probe as a container: a multi-stage build, a small non-root runtime image.
#   docker build -t mcp-probe . && docker run --rm mcp-probe --help
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p mcp-probe && strip target/release/mcp-probe

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/mcp-probe /usr/local/bin/mcp-probe
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/mcp-probe"]
