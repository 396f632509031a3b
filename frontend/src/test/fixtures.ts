export const HEALTHY = {
  status: "ok",
  checks: {
    database: { ok: true, detail: "sqlite" },
    broker: { ok: true, detail: "sqla+sqlite" },
    workers: {
      ok: true,
      queues: { default: ["celery@web-1"], media: ["celery@web-1"], gpu: ["celery@gpu-1"] },
      detail: "3 workers",
    },
  },
};

export const DEGRADED = {
  status: "degraded",
  checks: {
    database: { ok: true, detail: "postgresql" },
    broker: { ok: false, detail: "Error 111 connecting to 127.0.0.1:6379. Connection refused." },
    workers: {
      ok: false,
      queues: { default: ["celery@host-a", "celery@host-b"], media: ["celery@host-a"], gpu: [] },
      detail: "No worker is consuming the gpu queue.",
    },
  },
};
