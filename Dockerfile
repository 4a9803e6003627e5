# syntax=docker/dockerfile:1
# otad in a container: built from source on Debian 12, run as a non-root
# user with its state on a volume.
#
#   docker build -t otasign .
#   docker run -d -p 8080:8080 -v otad-data:/var/lib/otad \
#       -v "$PWD/release.pub:/etc/otad/release.pub:ro" otasign
#   docker exec <container> cat /var/lib/otad/admin.token      # the admin token
#   otasign status --server http://127.0.0.1:8080 --token-file admin.token
#
# The image also holds otasign and otadev (docker run --entrypoint otasign ...).

# ---- build stage: the same packages and make targets as a developer's machine
FROM debian:12 AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc make pkg-config libc6-dev \
        libsodium-dev libmicrohttpd-dev libcjson-dev libcurl4-openssl-dev libsqlite3-dev libpq-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN make -j"$(nproc)" all && make install DESTDIR=/out PREFIX=/usr

# ---- runtime stage: the shared libraries, a user, the programs
FROM debian:12-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libsodium23 libmicrohttpd12 libcjson1 \
        libcurl4 libsqlite3-0 libpq5 curl ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/otad --shell /usr/sbin/nologin otad \
 && install -d -o otad -g otad -m 0700 /var/lib/otad \
 && install -d -m 0755 /etc/otad
COPY --from=build /out/usr/ /usr/
USER otad
VOLUME ["/var/lib/otad"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/usr/bin/otad"]
CMD ["--data", "/var/lib/otad", "--listen", "0.0.0.0:8080", "--release-pub", "/etc/otad/release.pub"]
