"""The production-like stack: docker compose accepts the file and runs the Procfile's lines."""

import os
import re
import shutil
import subprocess

import pytest

from tests.conftest import BASE_DIR


def _procfile() -> dict[str, str]:
    lines = (BASE_DIR / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line and not line.startswith("#"))


def _compose_command() -> list[str]:
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.fail("docker compose is missing: `make test` installs Debian's docker-compose as root")


def test_docker_compose_config_accepts_the_file_and_runs_the_procfile_lines():
    env = {**os.environ, "DJANGO_SECRET_KEY": "compose-check"}
    result = subprocess.run(
        [*_compose_command(), "-f", "docker-compose.yml", "config"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    rendered = result.stdout
    for service in ("postgres", "redis", "web", "worker", "beat"):
        assert re.search(rf"^  {service}:$", rendered, re.MULTILINE), service
    compose_text = (BASE_DIR / "docker-compose.yml").read_text().replace("$$", "$")
    for name, command in _procfile().items():
        assert f'"{command}"' in compose_text, f"{name} differs from the Procfile"
