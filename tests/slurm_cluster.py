"""A single-node SLURM cluster for the tests: munge, slurmctld and slurmd from Debian's packages
(slurmctld, slurmd, slurm-client, munge; scripts/system_packages.sh installs them as root),
started by hand in a temporary folder with their own configuration, and stopped afterwards
with every job they ran. Needs root (slurmd runs jobs as their user; munge needs its key).

    with slurm_cluster() as slurm:      # None when SLURM cannot run here, with the reason in
        slurm.env                       #   slurm_unavailable()
        slurm.run("sinfo", "-h")
"""
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PROGRAMS = ("munged", "munge", "mungekey", "slurmctld", "slurmd", "sinfo", "sbatch", "scancel")
PORTS = (6817, 6818)   # slurmctld, slurmd


def slurm_unavailable():
    """Why SLURM cannot run here, or "" when it can."""
    missing = [p for p in PROGRAMS if not shutil.which(p)]
    if missing:
        return ("SLURM is not installed (missing " + ", ".join(missing) + "): "
                "apt-get install -y slurmctld slurmd slurm-client munge")
    if os.geteuid() != 0:
        return "a SLURM cluster for the tests needs root (slurmd runs the jobs as their user)"
    try:
        socket.gethostbyname(socket.gethostname().split(".")[0])
    except OSError:
        return f"the host name {socket.gethostname()!r} does not resolve (slurmctld needs it)"
    for port in PORTS:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return f"port {port} is taken (another slurmctld or slurmd is running)"
    return ""


@dataclass
class Slurm:
    folder: Path
    env: dict
    host: str

    def run(self, *args, timeout=60):
        return subprocess.run(args, env=self.env, capture_output=True, text=True, timeout=timeout, check=True).stdout


def _config(folder, host, memory):
    return f"""ClusterName=tests
SlurmctldHost={host}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MailProg=/bin/true
StateSaveLocation={folder}/state
SlurmdSpoolDir={folder}/spool
SlurmctldPidFile={folder}/slurmctld.pid
SlurmdPidFile={folder}/slurmd.pid
SlurmctldLogFile={folder}/slurmctld.log
SlurmdLogFile={folder}/slurmd.log
SlurmctldPort={PORTS[0]}
SlurmdPort={PORTS[1]}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
NodeName={host} CPUs={os.cpu_count()} RealMemory={memory} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


def _wait(condition, seconds, what, logs=()):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    tails = "".join(f"\n--- {p.name}\n{p.read_text(errors='replace')[-2000:]}" for p in logs if p.exists())
    raise RuntimeError(f"{what} within {seconds} s{tails}")


@contextlib.contextmanager
def slurm_cluster():
    """A running single-node cluster (Slurm), stopped with its jobs on exit."""
    host = socket.gethostname().split(".")[0]
    folder = Path(tempfile.mkdtemp(prefix="slurm-tests."))
    os.chmod(folder, 0o755)
    (folder / "state").mkdir()
    (folder / "spool").mkdir()
    env = dict(os.environ, SLURM_CONF=str(folder / "slurm.conf"))
    processes = []
    try:
        Path("/run/munge").mkdir(exist_ok=True)
        shutil.chown("/run/munge", "munge", "munge")
        key = Path("/etc/munge/munge.key")
        if not key.exists() or key.stat().st_size == 0:
            subprocess.run(["mungekey", "--create"], check=True, capture_output=True)
        shutil.chown(key, "munge", "munge")
        key.chmod(0o400)
        if subprocess.run("munge -n </dev/null | unmunge", shell=True, capture_output=True).returncode != 0:
            log = open(folder / "munged.log", "w")
            processes.append(subprocess.Popen(["setpriv", "--reuid=munge", "--regid=munge", "--init-groups",
                                               "munged", "-F"], stdout=log, stderr=log, start_new_session=True))
            _wait(lambda: subprocess.run("munge -n </dev/null | unmunge", shell=True,
                                         capture_output=True).returncode == 0, 10, "munged did not start",
                  [folder / "munged.log"])
        probe = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True).stdout
        memory = int(re.search(r"RealMemory=(\d+)", probe).group(1))
        (folder / "slurm.conf").write_text(_config(folder, host, memory))
        for daemon, flags in (("slurmctld", ["-D", "-c"]), ("slurmd", ["-D"])):
            log = open(folder / f"{daemon}.out", "w")
            processes.append(subprocess.Popen([daemon, *flags], env=env, stdout=log, stderr=log,
                                              start_new_session=True))
        slurm = Slurm(folder, env, host)

        def idle():
            try:
                return slurm.run("sinfo", "-h", "-n", host, "-o", "%t", timeout=10).strip() == "idle"
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
                return False
        _wait(idle, 60, "the SLURM node did not become idle",
              [folder / n for n in ("slurmctld.out", "slurmd.out", "slurmctld.log", "slurmd.log")])
        yield slurm
    finally:
        with contextlib.suppress(Exception):
            subprocess.run(["scancel", "--full", "--user=root"], env=env, capture_output=True, timeout=30)
        for process in reversed(processes):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in reversed(processes):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        shutil.rmtree(folder, ignore_errors=True)
