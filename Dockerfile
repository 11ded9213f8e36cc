# ridealong: build with the pinned toolchain, run as an unprivileged user.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY migrations ./migrations
COPY assets ./assets
RUN cargo build --release --locked --bin ridealong && cp target/release/ridealong /usr/local/bin/ridealong

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data --create-home ridealong
COPY --from=build /usr/local/bin/ridealong /usr/local/bin/ridealong
USER ridealong
WORKDIR /data
ENV RIDEALONG_LISTEN=0.0.0.0:8080 \
    DATABASE_URL=sqlite:///data/ridealong.db
VOLUME ["/data"]
EXPOSE 8080
ENTRYPOINT ["ridealong"]
CMD ["serve"]
