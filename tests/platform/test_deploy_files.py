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
    assert set(services) == {"postgres", "redis", "web", "media-worker", "gpu-worker"}
    assert "gunicorn" in services["web"]["command"]
    media_cmd = services["media-worker"]["command"]
    gpu_cmd = services["gpu-worker"]["command"]
    assert media_cmd[media_cmd.index("-Q") + 1] == "default,media"
    assert gpu_cmd[gpu_cmd.index("-Q") + 1] == "gpu"
    devices = services["gpu-worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    for name in ("web", "media-worker", "gpu-worker"):
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgres://")
        assert services[name]["environment"]["CELERY_BROKER_URL"].startswith("redis://")
        assert any(v.startswith("media:") for v in services[name]["volumes"])


def _compose_cli() -> list[str] | None:
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_docker_compose_config_validates():
    cli = _compose_cli()
    if cli is None:
        pytest.skip("no docker compose client on this machine")
    result = subprocess.run(
        [*cli, "config", "--quiet"],
        cwd=ROOT,
        env={"SECRET_KEY": "validation-only", "PATH": "/usr/bin:/bin:/usr/local/bin"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
