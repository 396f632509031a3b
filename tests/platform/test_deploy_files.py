"""docker-compose.yml describes the multi-machine topology; validate it."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_topology_has_every_service_and_queue():
    services = _compose()["services"]
    assert set(services) == {"postgres", "redis", "minio", "web", "media-worker", "gpu-worker"}
    assert "gunicorn" in services["web"]["command"]
    assert "ensure_media_bucket" in services["web"]["command"]
    media_cmd = services["media-worker"]["command"]
    gpu_cmd = services["gpu-worker"]["command"]
    assert media_cmd[media_cmd.index("-Q") + 1] == "default,media"
    assert gpu_cmd[gpu_cmd.index("-Q") + 1] == "gpu"
    devices = services["gpu-worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    for name in ("web", "media-worker", "gpu-worker"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["CELERY_BROKER_URL"].startswith("redis://")
        # Media through the object store, never a shared folder.
        assert env["MEDIA_STORAGE"] == "s3"
        assert env["MEDIA_S3_ENDPOINT_URL"] == "http://minio:9000"
        assert "MEDIA_ROOT" not in env
        assert "minio" in services[name]["depends_on"]


def test_no_two_services_share_a_media_folder():
    compose = _compose()
    services = compose["services"]
    assert "media" not in (compose.get("volumes") or {})
    for name in ("web", "media-worker", "gpu-worker"):
        volumes = services[name].get("volumes") or []
        assert not [v for v in volumes if "media" in v.split(":")[0]], (name, volumes)
    # The only writable named volumes belong to one service each.
    owners: dict[str, list[str]] = {}
    for name, service in services.items():
        for volume in service.get("volumes") or []:
            source = volume.split(":")[0]
            if not source.startswith((".", "/")) and not volume.endswith(":ro"):
                owners.setdefault(source, []).append(name)
    assert all(len(names) == 1 for names in owners.values()), owners


def test_object_store_service():
    minio = _compose()["services"]["minio"]
    assert minio["image"].startswith("quay.io/minio/minio:RELEASE.")
    assert minio["command"][0] == "server"
    assert "9000:9000" in minio["ports"]


def test_remote_gpu_worker_file_runs_only_a_gpu_worker():
    remote = yaml.safe_load((ROOT / "docker-compose.gpu-worker.yml").read_text())
    assert set(remote["services"]) == {"gpu-worker"}
    worker = remote["services"]["gpu-worker"]
    cmd = worker["command"]
    assert cmd[cmd.index("-Q") + 1] == "gpu"
    env = worker["environment"]
    # Everything it reaches is on another host, named by the environment (required values).
    for key in ("DATABASE_URL", "CELERY_BROKER_URL", "MEDIA_S3_ENDPOINT_URL", "SECRET_KEY"):
        assert env[key].startswith(f"${{{key}:?"), key
    assert env["MEDIA_STORAGE"] == "s3"
    assert "depends_on" not in worker
    volumes = worker["volumes"]
    assert "gpucache:/cache" in volumes and env["MEDIA_CACHE_DIR"] == "/cache"
    assert not [v for v in volumes if "media" in v]


def _compose_cli() -> list[str] | None:
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


REMOTE_ENV = {
    "DATABASE_URL": "postgres://wherewhen:secret@web-host:5432/wherewhen",
    "CELERY_BROKER_URL": "redis://web-host:6379/0",
    "SECRET_KEY": "validation-only",
    "MEDIA_S3_ENDPOINT_URL": "http://web-host:9000",
    "MEDIA_S3_ACCESS_KEY_ID": "key",
    "MEDIA_S3_SECRET_ACCESS_KEY": "secret",
}


@pytest.mark.parametrize(
    ("files", "env"),
    [
        ([], {"SECRET_KEY": "validation-only", "MINIO_ROOT_PASSWORD": "validation-only"}),
        (["-f", "docker-compose.gpu-worker.yml"], REMOTE_ENV),
    ],
)
def test_docker_compose_config_validates(files, env):
    cli = _compose_cli()
    if cli is None:
        pytest.skip("no docker compose client on this machine")
    result = subprocess.run(
        [*cli, *files, "config", "--quiet"],
        cwd=ROOT,
        env={**env, "PATH": "/usr/bin:/bin:/usr/local/bin"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_remote_gpu_worker_needs_its_hosts_named():
    cli = _compose_cli()
    if cli is None:
        pytest.skip("no docker compose client on this machine")
    env = {k: v for k, v in REMOTE_ENV.items() if k != "DATABASE_URL"}
    result = subprocess.run(
        [*cli, "-f", "docker-compose.gpu-worker.yml", "config", "--quiet"],
        cwd=ROOT,
        env={**env, "PATH": "/usr/bin:/bin:/usr/local/bin"},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and "DATABASE_URL" in result.stderr + result.stdout
