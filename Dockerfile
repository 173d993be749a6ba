# The image every Kubeflow step runs in (the default --base-image, mlops-magics:VERSION): Python 3.11, the
# package and its stack at the versions of requirements.lock (the ones the tests ran with), papermill and
# a python3 Jupyter kernel. Build it from a checkout and push it where the cluster pulls from:
#
#   docker build -t mlops-magics:0.1.0 .          # the tag is mlops_magics/_version.py's version
#   docker tag mlops-magics:0.1.0 REGISTRY/mlops-magics:0.1.0 && docker push REGISTRY/mlops-magics:0.1.0
#   mlops-magics run notebooks/pipeline.yaml --engine kfp --base-image REGISTRY/mlops-magics:0.1.0 ...
FROM python:3.11-slim-bookworm

# uv resolves nothing here: the lock is a constraints file, so only what the package and its
# kubeflow/redis extras need is installed, each at its locked version.
ARG UV_VERSION=0.13.9
RUN pip install --no-cache-dir "uv==${UV_VERSION}"

WORKDIR /opt/mlops-magics
COPY requirements.lock pyproject.toml README.md ./
COPY mlops_magics ./mlops_magics
RUN uv pip install --system --no-cache --compile-bytecode --constraint requirements.lock ".[kubeflow,redis]" \
    && python -m ipykernel install --sys-prefix --name python3 \
    && python -c "import mlops_magics, papermill, kfp, mlflow, feast, evidently"

# A step runs as a user without a home of its own on many clusters: the workspace goes to /tmp unless
# MLOPS_SERVER (the team's services) is set, which is what a pipeline step should use.
ENV MLOPS_HOME=/tmp/mlops \
    PYTHONUNBUFFERED=1
WORKDIR /tmp
