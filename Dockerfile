# mxproxy container image: the proxy as an installed package, run as an unprivileged user.
#
#   docker build -t mxproxy .
#   docker run -d --name mxproxy -p 8000:8000 \
#       -v /srv/mxproxy/config.toml:/etc/mxproxy/config.toml:ro \
#       -v mxproxy-state:/var/lib/mxproxy mxproxy
#
# The configuration is mounted read-only at /etc/mxproxy/config.toml; the SQLite store and its
# key file live in the /var/lib/mxproxy volume. See docs/operations.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 10001 mxproxy \
    && useradd --system --uid 10001 --gid mxproxy --home-dir /var/lib/mxproxy \
        --shell /usr/sbin/nologin mxproxy \
    && install -d -o mxproxy -g mxproxy -m 0700 /var/lib/mxproxy \
    && install -d -m 0755 /etc/mxproxy

WORKDIR /usr/src/mxproxy
COPY pyproject.toml README.md requirements.lock ./
COPY src ./src
# The lock pins every dependency to the versions the test suite ran with.
RUN pip install --constraint requirements.lock . \
    && cd / && rm -rf /usr/src/mxproxy

USER mxproxy
WORKDIR /var/lib/mxproxy
VOLUME ["/var/lib/mxproxy"]

ENV DB=/var/lib/mxproxy/mxproxy.db \
    PORT=:8000 \
    ADMIN=127.0.0.1:8043 \
    LOG_FORMAT=json
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=10s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

# SIGTERM (docker stop) drains requests, ends event streams and logs PBX sessions out.
STOPSIGNAL SIGTERM
ENTRYPOINT ["mxproxy"]
CMD ["serve", "--config", "/etc/mxproxy/config.toml"]
