# The gateway image, with the mock ministries' binary beside it for demos and tests.
# Build: docker build -t interop-gateway .
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release -p interop-gateway --bin interop-gateway -p mock-ministries --bin mock-ministries

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/interop-gateway /usr/local/bin/interop-gateway
COPY --from=build /src/target/release/mock-ministries /usr/local/bin/mock-ministries
USER nobody
EXPOSE 8080
ENTRYPOINT ["interop-gateway"]
CMD ["serve", "--bind", "0.0.0.0:8080"]
