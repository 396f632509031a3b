"""platform/ holds the Django project but must never shadow the stdlib module ``platform``."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_platform_folder_is_not_a_package():
    assert not (ROOT / "platform" / "__init__.py").exists()


def test_stdlib_platform_inside_this_test_process():
    import platform

    assert platform.system()
    assert Path(platform.__file__).parent != ROOT / "platform"


def test_stdlib_platform_inside_the_django_process():
    code = (
        "import platform, django; from django.conf import settings; settings.INSTALLED_APPS; "
        "django.setup(); print(platform.system(), platform.__file__)"
    )
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="wherewhen.settings", PYTHONPATH="platform:.")
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    import platform

    assert out[0] == platform.system()
    assert not out[1].startswith(str(ROOT / "platform"))


def test_manage_py_runs_with_stdlib_platform():
    out = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "--no-imports",
            "-c",
            "import platform; print(platform.system())",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    import platform

    assert out == platform.system()


@pytest.mark.parametrize("heavy", ["torch", "cv2"])
def test_web_process_never_imports_torch(heavy):
    """Neither the engine (torch) nor OpenCV (the annotators' tracker, which runs in workers or
    in a tracking request) is loaded by a web process that starts and serves."""
    code = (
        "import django, sys; django.setup(); "
        "from django.test import Client; Client().get('/healthz'); Client().get('/api/schema/'); "
        f"import wherewhen.urls; print({heavy!r} in sys.modules)"
    )
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="wherewhen.settings", PYTHONPATH="platform:.")
    out = (
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    assert out == "False"
