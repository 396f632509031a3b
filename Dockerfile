# One image for web and workers; the GPU worker's image adds a CUDA build of torch.
FROM node:20-bookworm-slim AS frontend
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM python:3.11-slim-bookworm AS app
ARG EXTRAS=worker
ENV PYTHONUNBUFFERED=1 PYTHONPATH=/app/platform:/app DJANGO_SETTINGS_MODULE=wherewhen.settings \
    WHEREWHEN_VAR_DIR=/data
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY workers/ workers/
RUN pip install --no-cache-dir -e ".[${EXTRAS}]"
COPY . .
COPY --from=frontend /src/frontend/dist frontend/dist
EXPOSE 8000
CMD ["gunicorn", "wherewhen.asgi:application", "--worker-class", "uvicorn_worker.UvicornWorker", \
     "--bind", "0.0.0.0:8000", "--workers", "4", "--forwarded-allow-ips", ""]
