# Pier's container image: build on Debian 12, run on debian:12-slim as a
# non-root user with only the shared libraries `pier` links.
#   docker build -t pier:0.1.0 .
#   docker run -p 5000:5000 -v pier-data:/data -v $PWD/config.json:/etc/pier/config.json:ro pier:0.1.0

FROM debian:12 AS build
WORKDIR /src
COPY scripts/deps.sh scripts/deps.sh
RUN scripts/deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN rm -rf build && BUILD_DIR=build BUILD_TYPE=Release scripts/build.sh \
 && install -D -m 0755 build/cmd/pier/pier /out/usr/local/bin/pier \
 && strip /out/usr/local/bin/pier
# The Debian packages that own the libraries pier links (read by the runtime
# stage, so the list follows the code instead of being kept by hand).
# dpkg knows some files by their /lib path and some by /usr/lib (usrmerge).
RUN for lib in $(ldd /out/usr/local/bin/pier | awk '$3 ~ /^\// {print $3}'); do \
      real=$(readlink -f "$lib"); \
      dpkg -S "$lib" "$real" "${real#/usr}" "/usr$lib" 2>/dev/null | cut -d: -f1 | head -n1 || true; \
    done | sort -u > /out/runtime-packages \
 && cat /out/runtime-packages && grep -q librocksdb /out/runtime-packages

FROM debian:12-slim
COPY --from=build /out/runtime-packages /tmp/runtime-packages
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates $(cat /tmp/runtime-packages) \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages \
 && groupadd --system --gid 10001 pier \
 && useradd --system --uid 10001 --gid pier --home-dir /data --no-create-home --shell /usr/sbin/nologin pier \
 && mkdir -p /data /etc/pier \
 && chown pier:pier /data
COPY --from=build /out/usr/local/bin/pier /usr/local/bin/pier
# Fail the build if a library is missing rather than at the first start.
RUN ! ldd /usr/local/bin/pier | grep -q "not found" && pier --version
# A minimal config so the image starts on its own; the Helm chart mounts its own.
RUN printf '{"listen": "0.0.0.0:5000", "data": "/data"}\n' > /etc/pier/config.json
USER 10001:10001
VOLUME ["/data"]
EXPOSE 5000
ENTRYPOINT ["pier", "serve", "--config", "/etc/pier/config.json"]
