"""A simulated cluster on one machine: Linux network namespaces, one per host, on a bridge.

Used by ``tests/integration/test_cluster_netns.py`` (no Django here). Every host is a network
namespace (``ip netns``) joined to a private bridge by a veth pair, with an address of its own
on a /24 chosen so it overlaps nothing on the machine. Every process started on a host runs in
that namespace *and* in fresh mount and UTS namespaces (``unshare``):

* its hostname is the host's name (so Celery node names and explanation claims say where they
  ran, and a worker cannot tell whether a process on another host is alive by its pid);
* its own folder of the test (``<base>/<host>``) is bind-mounted on :data:`HOST_ROOT`, so every
  host sees ``/mnt/var``, ``/mnt/media``, ``/mnt/tmp`` at the same paths but with different
  contents: nothing written there by one host is visible to another;
* what could be shared is hidden under an empty tmpfs: ``/tmp`` (unless the code or the
  interpreter lives there), pytest's base temporary folder and the checkout's ``var/``.

The machine's own PostgreSQL and Redis listen on 127.0.0.1 only, which no other namespace can
reach; :class:`Cluster` runs ``tests/tcpforward.py`` in the root namespace, bound to the root's
address on the bridge (``.1``), so hosts reach them as ``<subnet>.1:5432`` / ``:6379``.

Names carry the test process's pid (``wwc<pid>...``): runs never collide, and
:func:`remove_leftovers` deletes what an earlier run whose process is gone left behind.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

PREFIX = "wwc"
HOST_ROOT = "/mnt"
ROOT = Path(__file__).resolve().parent.parent

_HOST_SCRIPT = r"""
set -e
hostname "$WWC_HOSTNAME"
mount --bind "$WWC_HOST_DIR" "$WWC_HOST_ROOT"
for hide in $WWC_HIDE; do
  if [ -d "$hide" ]; then mount -t tmpfs -o size=256m,mode=1777 wwc-hidden "$hide"; fi
done
unset WWC_HOSTNAME WWC_HOST_DIR WWC_HOST_ROOT WWC_HIDE
exec "$@"
"""


def _run(*cmd: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, check=check)


def why_unavailable() -> str | None:
    """Why namespaces cannot be made here (None: they can)."""
    if sys.platform != "linux":
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "creating network namespaces needs root (run the tests as root, as CI does)"
    for tool in ("ip", "unshare", "mount", "hostname"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed (apt-get install iproute2 util-linux)"
    if not Path(HOST_ROOT).is_dir():
        return f"{HOST_ROOT} does not exist (each host's folder is mounted there)"
    probe = f"{PREFIX}{os.getpid()}-probe"
    made = _run("ip", "netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"`ip netns add` failed: {made.stderr.strip()}"
    try:
        inside = _run(
            "ip", "netns", "exec", probe, "unshare", "--mount", "--uts", "--propagation",
            "private", "true", check=False,
        )  # fmt: skip
        if inside.returncode != 0:
            return f"`unshare --mount --uts` failed in a namespace: {inside.stderr.strip()}"
    finally:
        _run("ip", "netns", "del", probe, check=False)
    return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_leftovers() -> list[str]:
    """Delete namespaces and links of earlier runs whose test process is gone (their processes
    are killed first); returns what was removed."""
    removed = []
    pattern = re.compile(rf"^{PREFIX}(\d+)")
    for line in _run("ip", "netns", "list", check=False).stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        match = pattern.match(name)
        if not match or _pid_alive(int(match.group(1))):
            continue
        for pid in _run("ip", "netns", "pids", name, check=False).stdout.split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        _run("ip", "netns", "del", name, check=False)
        removed.append(f"netns {name}")
    for line in _run("ip", "-o", "link", "show", check=False).stdout.splitlines():
        parts = line.split(":")
        if len(parts) < 2:
            continue
        name = parts[1].strip().split("@")[0]
        match = pattern.match(name)
        if match and not _pid_alive(int(match.group(1))):
            _run("ip", "link", "del", name, check=False)
            removed.append(f"link {name}")
    return removed


def _free_subnet() -> str:
    """A 10.231.x.0/24 (x from the pid) that no address or route of the machine touches."""
    used = _run("ip", "-4", "-o", "addr", "show").stdout + _run("ip", "-4", "route").stdout
    for step in range(250):
        x = (os.getpid() + step) % 250 + 1
        prefix = f"10.231.{x}"
        if f"{prefix}." not in used and "10.231.0.0/16" not in used and "10.0.0.0/8" not in used:
            return prefix
    raise RuntimeError("no free 10.231.x.0/24 subnet for the test bridge")


@dataclass
class Host:
    """One simulated machine."""

    name: str
    ns: str
    ip: str
    folder: Path  # seen as HOST_ROOT on the host, readable by the test from outside

    def path(self, inside: str) -> Path:
        """The test's view of a path ``inside`` the host (under HOST_ROOT)."""
        relative = Path(inside).relative_to(HOST_ROOT)
        return self.folder / relative


@dataclass
class HostProcess:
    """A process started on a host (the leader of its own session)."""

    host: Host
    label: str
    proc: subprocess.Popen
    log_path: Path

    def output(self, tail: int = 6000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except FileNotFoundError:
            return ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the process and everything in its session (a machine losing power)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=timeout)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # pool children left behind, if any
        self.proc.wait()


@dataclass
class Cluster:
    """Hosts on a bridge of their own; :meth:`close` removes everything (idempotent)."""

    base: Path
    names: tuple[str, ...]
    hide: tuple[str, ...] = ()
    hosts: dict[str, Host] = field(default_factory=dict)
    processes: list[HostProcess] = field(default_factory=list)
    bridge: str = ""
    gateway: str = ""  # the root namespace's address on the bridge
    _links: list[str] = field(default_factory=list)
    _forwarder: subprocess.Popen | None = None

    def up(self) -> Cluster:
        tag = f"{PREFIX}{os.getpid()}"
        prefix = _free_subnet()
        self.bridge = f"{tag}br"
        self.gateway = f"{prefix}.1"
        _run("ip", "link", "add", self.bridge, "type", "bridge")
        self._links.append(self.bridge)
        # Bridged frames are not run through the host's iptables (a FORWARD drop policy, as
        # Docker sets, would otherwise cut the hosts off); older kernels lack the option.
        _run("ip", "link", "set", self.bridge, "type", "bridge", "nf_call_iptables", "0", check=False)  # fmt: skip
        _run("ip", "addr", "add", f"{self.gateway}/24", "dev", self.bridge)
        _run("ip", "link", "set", self.bridge, "up")
        for index, name in enumerate(self.names):
            ns = f"{tag}-{name}"
            outer, inner = f"{tag}h{index}", f"{tag}n{index}"
            _run("ip", "netns", "add", ns)
            self._links.append(f"netns:{ns}")
            _run("ip", "link", "add", outer, "type", "veth", "peer", "name", inner)
            self._links.append(outer)
            _run("ip", "link", "set", inner, "netns", ns)
            _run("ip", "link", "set", outer, "master", self.bridge)
            _run("ip", "link", "set", outer, "up")
            ip = f"{prefix}.{10 + index}"
            _run("ip", "-n", ns, "link", "set", "lo", "up")
            _run("ip", "-n", ns, "link", "set", inner, "name", "eth0")
            _run("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", "eth0")
            _run("ip", "-n", ns, "link", "set", "eth0", "up")
            folder = self.base / name
            for sub in ("var", "media", "tmp", "home", "logs"):
                (folder / sub).mkdir(parents=True, exist_ok=True)
            self.hosts[name] = Host(name=name, ns=ns, ip=ip, folder=folder)
        return self

    def forward(self, *ports: int, target: str = "127.0.0.1") -> None:
        """Make ``target:port`` (root namespace) reachable as ``gateway:port`` from every host."""
        routes = [f"{self.gateway}:{port}={target}:{port}" for port in ports]
        self._forwarder = subprocess.Popen(
            [sys.executable, "-m", "tests.tcpforward", *routes],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        line = self._forwarder.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"the TCP forwarder did not start: {line}")

    def command(self, host: Host, argv: list[str]) -> list[str]:
        """``argv`` wrapped to run on ``host`` (network, mounts and hostname of its own)."""
        return [
            "ip", "netns", "exec", host.ns,
            "unshare", "--mount", "--uts", "--propagation", "private", "--",
            "/bin/sh", "-c", _HOST_SCRIPT, "sh", *argv,
        ]  # fmt: skip

    def host_env(self, host: Host, env: dict[str, str]) -> dict[str, str]:
        full = dict(env)
        full.update(
            {
                "WWC_HOSTNAME": host.name,
                "WWC_HOST_DIR": str(host.folder),
                "WWC_HOST_ROOT": HOST_ROOT,
                "WWC_HIDE": " ".join(self.hide),
                "HOME": f"{HOST_ROOT}/home",
                "TMPDIR": f"{HOST_ROOT}/tmp",
            }
        )
        return full

    def run(self, host: str, argv: list[str], env: dict[str, str], timeout: float = 60.0):
        """Run a short command on ``host`` and return its CompletedProcess."""
        target = self.hosts[host]
        return subprocess.run(
            self.command(target, argv),
            env=self.host_env(target, env),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self, host: str, label: str, argv: list[str], env: dict[str, str]) -> HostProcess:
        target = self.hosts[host]
        log_path = target.folder / "logs" / f"{label}.log"
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                self.command(target, argv),
                env=self.host_env(target, env),
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        process = HostProcess(host=target, label=label, proc=proc, log_path=log_path)
        self.processes.append(process)
        return process

    def close(self) -> None:
        for process in reversed(self.processes):
            with contextlib.suppress(Exception):
                process.stop()
        self.processes.clear()
        if self._forwarder is not None:
            self._forwarder.kill()
            self._forwarder.wait()
            self._forwarder = None
        for link in reversed(self._links):
            if link.startswith("netns:"):
                ns = link.removeprefix("netns:")
                for pid in _run("ip", "netns", "pids", ns, check=False).stdout.split():
                    with contextlib.suppress(ProcessLookupError, ValueError):
                        os.kill(int(pid), signal.SIGKILL)
                _run("ip", "netns", "del", ns, check=False)
            else:
                _run("ip", "link", "del", link, check=False)
        self._links.clear()
