"""Real OpenSSH sshd instances on 127.0.0.1: the machines of an SSH inventory, for tests.

A pool's `spec.provider.ssh` names one `user` for all its hosts, as a real fleet has the same
account on N machines. Here N sshd instances (one port each) stand for N machines: the same
account (`so-test`), but each instance gives its sessions their own HOME, TMPDIR and
TMUX_TMPDIR (sshd's `SetEnv` overrides the login environment), so two "machines" share no
file and no tmux server that a worker uses. Each instance has its own host key, as machines
do.

Needs root (sshd, useradd) and /usr/sbin/sshd; `skip_reason()` says what is missing.
FIELD-NOTES: `useradd` makes a locked account that sshd refuses; `usermod -p '*'` unlocks it
without giving it a password.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

USER = "so-test"
ADDRESS = "127.0.0.1"
SSHD = Path("/usr/sbin/sshd")
PRIVSEP_DIR = Path("/run/sshd")  # sshd refuses to start without it
# Where the machines live: a directory every user may traverse (/var/tmp, not /tmp: a
# cleanup elsewhere that narrows /tmp to 0700 must not take the machines' HOMEs with it).
BASE = Path("/var/tmp")
START_TIMEOUT = 10.0
_PATH = "/usr/local/bin:/usr/bin:/bin"  # sshd's own default for a session, after Host.bin


def skip_reason() -> str | None:
    """Why sshd tests cannot run here, or None when they can."""
    if os.geteuid() != 0:
        return "the sshd fixture needs root (it starts sshd and creates the user so-test)"
    if not SSHD.exists():
        return f"{SSHD} is missing: apt-get install openssh-server (as .ci/run does)"
    if not BASE.stat().st_mode & 0o001:
        return f"{BASE} is not traversable by other users (mode {BASE.stat().st_mode:o})"
    tools = ("ssh-keygen", "useradd", "usermod", "runuser", "tmux", "timeout")
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        return f"the sshd fixture needs {', '.join(missing)} on PATH"
    return None


def ensure_user() -> pwd.struct_passwd:
    """The test account: created once, unlocked, with bash as its login shell."""
    with contextlib.suppress(KeyError):
        return _unlocked(pwd.getpwnam(USER))
    created = subprocess.run(
        ["useradd", "--create-home", "--shell", "/bin/bash", USER], capture_output=True, text=True
    )
    if created.returncode not in (0, 9):  # 9: created meanwhile by another test run
        raise RuntimeError(f"useradd {USER} failed: {created.stderr.strip()}")
    return _unlocked(pwd.getpwnam(USER))


def _unlocked(entry: pwd.struct_passwd) -> pwd.struct_passwd:
    subprocess.run(["usermod", "-p", "*", USER], check=True)
    return entry


@dataclasses.dataclass
class Host:
    """One machine of the inventory: an sshd on its own port with its own HOME and host key."""

    index: int
    port: int
    root: Path  # config, keys, pid file and log of this sshd; the machine's HOME below it
    user: pwd.struct_passwd
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return ADDRESS

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def tmux_tmpdir(self) -> Path:
        return self.root / "tmux"

    @property
    def bin(self) -> Path:
        """First on the sessions' PATH: a test puts shims of commands here (say, a slow tmux)."""
        return self.root / "bin"

    @property
    def tmpdir(self) -> Path:
        return self.root / "tmp"

    @property
    def config(self) -> Path:
        return self.root / "sshd_config"

    @property
    def log(self) -> Path:
        return self.root / "sshd.log"

    @property
    def public_key(self) -> str:
        """The host key as a known_hosts line would hold it: `type base64`."""
        return " ".join((self.root / "host_key.pub").read_text().split()[:2])

    @property
    def known_hosts_line(self) -> str:
        return f"[{ADDRESS}]:{self.port} {self.public_key}"

    @property
    def claim(self) -> Path:
        return self.home / ".sprite-orchestrator" / "claim"

    def start(self) -> None:
        """Start sshd (again) on its port and wait until it answers."""
        if self.process is not None and self.process.poll() is None:
            return
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(SSHD), "-D", "-e", "-f", str(self.config)],
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        _wait_listening(self.port, self.process, self.log)

    def stop(self) -> None:
        """The machine drops off the network: sshd and its open connections go.

        Processes started through them (tmux and the agent) keep running, as on a machine
        that is merely unreachable.
        """
        if self.process is None:
            return
        connections = [p for p in _descendants(self.process.pid) if _comm(p) == "sshd"]
        with contextlib.suppress(ProcessLookupError):
            self.process.terminate()
        for pid in connections:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def drop_connections(self) -> int:
        """Every open SSH connection to this machine drops (its sshd processes killed), as a
        network cut would; sshd keeps listening, so the next connection works. Returns how
        many processes were killed."""
        if self.process is None:
            return 0
        connections = [p for p in _descendants(self.process.pid) if _comm(p) == "sshd"]
        for pid in connections:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return len(connections)

    def tmux(self, *args: str) -> subprocess.CompletedProcess[str]:
        """tmux as the account on this machine, against this machine's server."""
        argv = ["runuser", "-u", USER, "--", "env", f"TMUX_TMPDIR={self.tmux_tmpdir}", "tmux"]
        return subprocess.run([*argv, *args], capture_output=True, text=True, timeout=10)

    def accepted_logins(self) -> int:
        """How many SSH logins this machine accepted (sshd's log says each one)."""
        return self.log.read_text(errors="replace").count("Accepted publickey for")

    def clean(self) -> None:
        """Kill the machine's tmux server and the agents under it (they were started here)."""
        panes = self.tmux("list-panes", "-a", "-F", "#{pane_pid}").stdout.split()
        self.tmux("kill-server")
        deadline = time.monotonic() + 3
        alive = [int(p) for p in panes if p.isdigit()]
        while alive and time.monotonic() < deadline:
            time.sleep(0.05)
            alive = [p for p in alive if _running(p)]
        for pid in alive:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)


@dataclasses.dataclass
class Inventory:
    """N machines reachable as so-test over SSH, and the client key they all accept."""

    root: Path
    hosts: list[Host]
    private_key: bytes  # OpenSSH PEM of the client key (a test key: fine on disk here)
    private_key_path: Path

    @property
    def user(self) -> str:
        return USER

    def known_hosts(self, hosts: Sequence[Host] | None = None) -> bytes:
        lines = [h.known_hosts_line for h in (self.hosts if hosts is None else hosts)]
        return ("\n".join(lines) + "\n").encode()

    def provider_spec(
        self, *, key_secret: str, known_hosts_secret: str, hosts: Sequence[Host] | None = None
    ) -> dict[str, object]:
        """The pool's `spec.provider` for these machines (or some), as a user writes it."""
        return {
            "type": "SSH",
            "ssh": {
                "hosts": [
                    {"address": h.address, "port": h.port}
                    for h in (self.hosts if hosts is None else hosts)
                ],
                "user": USER,
                "privateKeySecretRef": {"name": key_secret},
                "knownHostsSecretRef": {"name": known_hosts_secret},
            },
        }

    def give(self, path: Path) -> Path:
        """Hand a directory tree (a repo to clone) to the account, as its owner."""
        subprocess.run(["chown", "-R", f"{USER}:", str(path)], check=True)
        return path


@contextlib.contextmanager
def inventory(count: int = 2, *, options: Sequence[str] = ()) -> Iterator[Inventory]:
    """`count` machines on 127.0.0.1, running until the block ends, then cleaned up.

    `options` are more sshd_config lines for every machine (say, `MaxSessions 1`).
    """
    user = ensure_user()
    PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="so-sshd-", dir=BASE))  # short: tmux socket paths
    root.chmod(0o755)  # the account reaches its HOME and repos below it
    hosts: list[Host] = []
    try:
        key_path = root / "client_key"
        _keygen(key_path, "sprite-orchestrator tests")
        for index in range(1, count + 1):
            host = _make_host(root, index, user, key_path.with_suffix(".pub"), options)
            hosts.append(host)
            host.start()
        yield Inventory(root, hosts, key_path.read_bytes(), key_path)
    finally:
        for host in hosts:
            host.stop()
            host.clean()
        shutil.rmtree(root, ignore_errors=True)


def _make_host(
    root: Path, index: int, user: pwd.struct_passwd, client_pub: Path, options: Sequence[str]
) -> Host:
    host = Host(index=index, port=_free_port(), root=root / f"host-{index}", user=user)
    host.root.mkdir(mode=0o755)
    for owned in (host.home, host.tmux_tmpdir, host.tmpdir):
        owned.mkdir(mode=0o700)
        os.chown(owned, user.pw_uid, user.pw_gid)
    host.bin.mkdir(mode=0o755)
    _keygen(host.root / "host_key", f"host-{index}")
    authorized = host.root / "authorized_keys"
    shutil.copyfile(client_pub, authorized)
    authorized.chmod(0o644)  # sshd reads it as the account
    host.config.write_text(
        "\n".join(
            [
                f"Port {host.port}",
                f"ListenAddress {ADDRESS}",
                f"HostKey {host.root / 'host_key'}",
                f"PidFile {host.root / 'sshd.pid'}",
                f"AuthorizedKeysFile {authorized}",
                f"AllowUsers {USER}",
                "UsePAM no",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PubkeyAuthentication yes",
                "PermitRootLogin no",
                "StrictModes no",
                "PrintMotd no",
                "LogLevel INFO",
                f"SetEnv HOME={host.home} TMUX_TMPDIR={host.tmux_tmpdir} TMPDIR={host.tmpdir} "
                f"PATH={host.bin}:{_PATH}",
                *options,
                "",
            ]
        )
    )
    return host


def _keygen(path: Path, comment: str) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((ADDRESS, 0))
        return int(sock.getsockname()[1])


def _wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sshd exited with {process.returncode}: {log.read_text()}")
        with contextlib.suppress(OSError), socket.create_connection((ADDRESS, port), 0.2):
            return
        time.sleep(0.02)
    raise RuntimeError(f"sshd did not listen on {port} within {START_TIMEOUT}s")


def _descendants(pid: int) -> list[int]:
    """Every process below `pid` (sshd's per-connection processes and their children)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False
