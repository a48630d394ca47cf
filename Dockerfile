# One image for the api, the worker and the migrate job; compose overrides the command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /app

# Dependencies in their own layer: rebuilt only when the lock changes, not on every code edit.
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock

# Code stays root-owned and read-only to the app; only its data dir (settings.data_dir) is writable.
RUN useradd --create-home --uid 10001 --user-group nexjob \
    && mkdir -p /app/.nexjob \
    && chown nexjob:nexjob /app/.nexjob

COPY . .

# Numeric, so orchestrators can verify the image does not run as root.
USER 10001:10001

EXPOSE 8000

# Exec form: uvicorn is PID 1 and gets SIGTERM directly, so it shuts down gracefully; open event streams
# (GET /v1/events never ends by itself) get 5 s before they are closed.
CMD ["uvicorn", "api.main:app", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers", \
     "--timeout-graceful-shutdown", "5"]
