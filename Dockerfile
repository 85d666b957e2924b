# hubserving on the CPU: the standalone server (deploy/kubernetes/standalone) and the image a KubeRay
# RayService runs (deploy/kubernetes/rayservice.yaml). Every install step is deploy/install.sh, which
# the tests run with --dry-run (no image can be built on the project's machines).
#
#   docker build -t hubserving:0.1.0-cpu .
#   docker build -t my-hubserving --build-arg MODULES="senta_bilstm==1.2.0" --build-arg SOURCE=https://... .
FROM python:3.11-slim-bookworm

ARG EXTRAS=lac,ray
ARG MODULES=""
ARG SOURCE=""
ENV HUB_HOME=/var/lib/hubserving \
    PATH=/opt/hubserving/venv/bin:$PATH \
    PYTHONUNBUFFERED=1

# wget: KubeRay's probes of the Ray head and workers call it. A compiler for wheels without binaries.
RUN apt-get update && apt-get install -y --no-install-recommends build-essential wget \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/hubserving/src
COPY pyproject.toml README.md build-constraints.txt ./
COPY src ./src
COPY deploy/install.sh ./deploy/install.sh
RUN useradd --create-home --uid 1000 hub && mkdir -p "$HUB_HOME" && chown hub "$HUB_HOME" \
    && deploy/install.sh --venv /opt/hubserving/venv --extras "$EXTRAS" --modules "$MODULES" --source "$SOURCE"

USER 1000
EXPOSE 8866
# config.json comes from a ConfigMap at /etc/hubserving (see deploy/kubernetes/standalone/configmap.yaml).
CMD ["hub", "serving", "start", "-c", "/etc/hubserving/config.json"]
