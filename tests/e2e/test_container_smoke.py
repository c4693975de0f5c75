"""The image's steps, reproduced on a machine without a container engine.

Builds the wheel, exports the locked requirements the way the Dockerfile's builder stage does,
installs both into a fresh virtualenv, then, as an unprivileged user with the image's
environment (its ``ENV`` lines), trains the credit model and serves it: readiness, a
prediction, and SIGTERM while a request is in flight, which must still complete.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from dockerfile import ROOT, instructions, runtime_environment
from support import free_port, wait_until

# Run as root (this machine, CI here): drop to nobody. Run as a user (a CI runner): stay it.
AS_ROOT = os.geteuid() == 0
NOBODY = 65534
USER = NOBODY if AS_ROOT else os.geteuid()
AS_NOBODY = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--"] if AS_ROOT else []
UV = Path(sys.executable).parent / "uv"
IN_CI = os.environ.get("CI", "").lower() == "true"


@dataclass(frozen=True)
class Image:
    """The reproduced image: its virtualenv, a home the unprivileged user owns, its environment."""

    venv: Path
    home: Path
    environment: dict[str, str]

    def command(self, *args: str) -> list[str]:
        """``usine ARGS`` as the image's entrypoint runs it, as the unprivileged user."""
        return [*AS_NOBODY, str(self.venv / "bin" / "usine"), *args]


def export_flags() -> list[str]:
    """The ``uv export`` flags of the Dockerfile's builder stage."""
    (build,) = [i.arguments for i in instructions() if i.keyword == "RUN" and "uv export" in i.arguments]
    found = re.search(r"uv export (.+?) --output-file", build)
    assert found is not None, build
    return shlex.split(found.group(1))


# An interpreter the user cannot fully read may still start, on another installation's
# standard library: require the executable and its ``os`` module to share a prefix.
SAME_INSTALLATION = (
    "import os, sys; p = os.path.realpath;"
    "sys.exit(os.path.commonpath([p(sys.executable), p(os.__file__)]) == '/')"
)


def interpreter_for_nobody() -> str:
    """A Python 3.11 the unprivileged user can run whole (the project's own may live under /root)."""
    for candidate in (Path(sys.base_prefix) / "bin" / "python3.11", Path("/usr/bin/python3.11")):
        if candidate.exists():
            command = [*AS_NOBODY, str(candidate), "-c", SAME_INSTALLATION]
            if subprocess.run(command, capture_output=True, check=False).returncode == 0:
                return str(candidate)
    reason = "no Python 3.11 that an unprivileged user can run"
    if IN_CI:
        pytest.fail(reason)
    pytest.skip(f"container smoke NOT TESTED: {reason}")


def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False, **kwargs)
    assert done.returncode == 0, f"{shlex.join(command)}\n{done.stdout}\n{done.stderr}"
    return done


def image_environment(venv: Path, home: Path) -> dict[str, str]:
    """The runtime stage's ``ENV``, with the image's paths mapped to this machine's."""
    paths = {"/opt/venv": str(venv), "/var/lib/usine": str(home), "$PATH": os.environ["PATH"]}
    environment = {"LANG": "C.UTF-8"}
    # Set on some processors of this machine so that OpenBLAS computes correctly; kept as is.
    environment |= {
        k: v for k, v in os.environ.items() if k.startswith("OPENBLAS_") and k != "OPENBLAS_NUM_THREADS"
    }
    for key, value in runtime_environment().items():
        for image_path, local_path in paths.items():
            value = value.replace(image_path, local_path)
        environment[key] = value
    return environment


@pytest.fixture(scope="module")
def image() -> Iterator[Image]:
    """The image's virtualenv and home, built once for the module in a folder others may read."""
    python = interpreter_for_nobody()
    root = Path(tempfile.mkdtemp(prefix="usine-image-"))
    try:
        root.chmod(0o755)
        dist = root / "dist"
        run([str(UV), "build", "--wheel", "--out-dir", str(dist)], cwd=ROOT)
        requirements = root / "requirements.txt"
        run([str(UV), "export", *export_flags(), "--output-file", str(requirements)], cwd=ROOT)
        venv = root / "venv"
        run([str(UV), "venv", "--quiet", "--python", python, str(venv)])
        # Offline, from uv's cache (make install filled it): nothing is downloaded, and no cache
        # entry is revalidated and rewritten while another test installs from it offline.
        install = [
            str(UV),
            "pip",
            "install",
            "--quiet",
            "--offline",
            "--python",
            str(venv / "bin" / "python"),
        ]
        # pip compiles bytecode when the image installs; the unprivileged user could not later.
        run(
            [
                *install,
                "--compile-bytecode",
                "--require-hashes",
                "--no-deps",
                "--requirement",
                str(requirements),
            ]
        )
        (wheel,) = dist.glob("usine_ml-*.whl")
        run([*install, "--no-deps", str(wheel)])
        home = root / "home"
        home.mkdir()
        if AS_ROOT:
            os.chown(home, NOBODY, NOBODY)
        yield Image(venv, home, image_environment(venv, home))
    finally:
        shutil.rmtree(root, ignore_errors=True)


class ServerOutput:
    """Collects a server's output lines in a thread, so a test can wait for one."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        assert process.stdout is not None
        self.thread = threading.Thread(target=self._read, args=(process.stdout,), daemon=True)
        self.thread.start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            self.lines.append(line)

    def has(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def __str__(self) -> str:
        return "".join(self.lines)


def start_request_and_wait_for_continue(port: int, body: bytes) -> socket.socket:
    """Send a prediction's headers only; return once the app is reading the body (100 Continue)."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=30)
    connection.sendall(
        (
            "POST /1.0.0/models/credit/predictions HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
            "Expect: 100-continue\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
    )
    interim = b""
    while b"\r\n\r\n" not in interim:
        chunk = connection.recv(1024)
        assert chunk, "connection closed before 100 Continue"
        interim += chunk
    assert interim.startswith(b"HTTP/1.1 100"), interim
    return connection


def finish_request(connection: socket.socket, body: bytes) -> tuple[int, dict[str, Any]]:
    """Send the body, read the whole response until the server closes; status and JSON body."""
    connection.sendall(body)
    response = b""
    while chunk := connection.recv(65536):
        response += chunk
    connection.close()
    head, _, payload = response.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(payload)


def test_the_image_trains_serves_and_drains_as_an_unprivileged_user(
    image: Image, credit_record: dict[str, Any]
) -> None:
    assert image.environment["USINE_HOST"] == "0.0.0.0"
    trained = subprocess.run(
        image.command("train", "credit"),
        env=image.environment,
        cwd=image.home,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert trained.returncode == 0, trained.stderr
    assert "quality gate passed" in trained.stdout

    port = free_port()
    # Two workers, as the Kubernetes Deployment runs them: SIGTERM goes through the supervisor.
    environment = {**image.environment, "USINE_PORT": str(port), "USINE_WORKERS": "2"}
    (cmd,) = [i.arguments for i in instructions() if i.keyword == "CMD" and i.stage == "runtime"]
    server = subprocess.Popen(
        image.command(*json.loads(cmd)),
        env=environment,
        cwd=image.home,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = ServerOutput(server)
    base = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool:
            assert server.poll() is None, f"server exited early:\n{output}"
            try:
                return httpx.get(f"{base}/1.0.0/readiness", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(ready, "server ready", explain=output.__str__)
        uid = next(
            line
            for line in Path(f"/proc/{server.pid}/status").read_text().splitlines()
            if line.startswith("Uid:")
        )
        assert uid.split()[1:] == [str(USER)] * 4
        assert USER != 0
        assert httpx.get(f"{base}/1.0.0/health_check", timeout=5).status_code == 200
        scored = httpx.post(f"{base}/1.0.0/models/credit/predictions", json=credit_record, timeout=10)
        assert scored.status_code == 200
        assert scored.json()["version"] == "1"

        body = json.dumps(credit_record).encode()
        in_flight = start_request_and_wait_for_continue(port, body)
        server.send_signal(signal.SIGTERM)
        wait_until(
            lambda: output.has("Waiting for connections to close"), "drain started", explain=output.__str__
        )
        status, answer = finish_request(in_flight, body)
        assert status == 200, answer
        assert len(answer["predictions"]) == 1
        server.wait(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        output.thread.join(timeout=10)
    assert server.returncode in (0, -signal.SIGTERM), str(output)
    assert output.has("Application shutdown complete")
    assert "Traceback" not in str(output)
