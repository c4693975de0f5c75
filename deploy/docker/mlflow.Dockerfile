# MLflow tracking server for deploy/docker/compose.yaml: runs and registry on PostgreSQL,
# artifacts on an S3-compatible store, proxied so that clients need no S3 credentials.
# The MLflow version is the one in uv.lock.
FROM python:3.11-slim-bookworm
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN pip install mlflow==3.17.2 boto3==1.44.5 psycopg2-binary==2.9.13 \
    && useradd --uid 10002 --create-home --shell /usr/sbin/nologin mlflow
USER 10002
EXPOSE 5000
ENTRYPOINT ["mlflow", "server"]
