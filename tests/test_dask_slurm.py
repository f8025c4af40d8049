"""`grade --scheduler` on Dask workers started as SLURM batch jobs by dask-jobqueue's
SLURMCluster, on a single-node SLURM cluster (Debian's slurmctld, slurmd and munge) that the
fixture starts here with its own munge key and socket, ports, state and spool folders, and
stops at the end: nothing is left running, no job is left in the queue.

The workers are SLURM jobs (SLURM_JOB_ID is set in them); the batch (the reference, an Adam
bug, a hostile student, a file that is not a notebook) gets the expected scores, graded in
bubblewrap on the compute node.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_grade_cli import CELL_TIMEOUT, notebooks, read_grades  # noqa: E402

from autograder.course import ASSIGNMENT  # noqa: E402
from autograder.parts import TEST_CELLS  # noqa: E402

pytestmark = pytest.mark.slow

DAEMONS = ("slurmctld", "slurmd", "munged", "sbatch", "squeue", "scancel", "sinfo", "setpriv")
STUDENTS = ("alice", "bob", "frank", "mallory")


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


SLURM_CONF = """ClusterName=gradeci
SlurmctldHost={host}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={folder}/munge/munge.socket
CredType=cred/munge
MailProg=/bin/true
StateSaveLocation={folder}/state
SlurmdSpoolDir={folder}/spool
SlurmctldPidFile={folder}/slurmctld.pid
SlurmdPidFile={folder}/slurmd.pid
SlurmctldLogFile={folder}/slurmctld.log
SlurmdLogFile={folder}/slurmd.log
SlurmctldPort={controller_port}
SlurmdPort={node_port}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
NodeName={host} CPUs={cpus} Sockets=1 CoresPerSocket={cpus} ThreadsPerCore=1 RealMemory={memory} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


def node_memory():
    out = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True).stdout
    return int(out.split("RealMemory=")[1].split()[0])


class SingleNodeSlurm:
    """munged, slurmctld and slurmd of a cluster of this machine alone, in folder."""

    def __init__(self, folder):
        self.folder = folder
        self.host = socket.gethostname().split(".")[0]
        self.processes = {}
        self.conf = folder / "slurm.conf"
        self.env = dict(os.environ, SLURM_CONF=str(self.conf))

    def start_all(self):
        """munged, then slurmctld and slurmd; returns when the node is idle."""
        folder = self.folder
        folder.chmod(0o755)
        (folder / "munge").mkdir()
        key = folder / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        shutil.chown(folder / "munge", "munge", "munge")
        shutil.chown(key, "munge", "munge")
        key.chmod(0o400)
        munge = folder / "munge"
        self.start("munged", ["setpriv", "--reuid=munge", "--regid=munge", "--init-groups", "munged", "-F",
                              f"--key-file={key}", f"--socket={munge}/munge.socket", f"--pid-file={munge}/munged.pid",
                              f"--log-file={munge}/munged.log", f"--seed-file={munge}/seed"])
        self.wait_until(lambda: (munge / "munge.socket").exists(), "munged's socket")
        for name in ("state", "spool"):
            (folder / name).mkdir()
        controller_port, node_port = free_ports(2)
        self.conf.write_text(SLURM_CONF.format(host=self.host, folder=folder, controller_port=controller_port,
                                               node_port=node_port, cpus=os.cpu_count(), memory=node_memory()))
        self.start("slurmctld", ["slurmctld", "-D", "-c"])
        self.start("slurmd", ["slurmd", "-D"])
        self.wait_until(lambda: self.run("sinfo", "-h", "-n", self.host, "-o", "%t").strip() == "idle",
                        "the node to be idle")

    def start(self, name, cmd):
        self.processes[name] = subprocess.Popen(cmd, stdout=open(self.folder / f"{name}.out", "w"),
                                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=self.env)

    def run(self, *cmd):
        return subprocess.run(cmd, capture_output=True, text=True, env=self.env, timeout=30).stdout

    def wait_until(self, condition, what, seconds=60):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.2)
        logs = {p.name: p.read_text()[-1500:] for p in self.folder.glob("*.out")}
        raise RuntimeError(f"waited {seconds} s for {what}: {logs}")

    def stop(self):
        """Stops slurmd, slurmctld, then munged; returns the pids still alive."""
        for name in ("slurmd", "slurmctld", "munged"):
            process = self.processes.get(name)
            if process and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        return [p.pid for p in self.processes.values() if p.poll() is None]


@pytest.fixture(scope="module")
def slurm():
    missing = [name for name in DAEMONS if not shutil.which(name)]
    if os.geteuid() != 0 or missing:
        pytest.skip(f"needs root and Debian's slurmctld, slurmd, slurm-client and munge (missing: {missing})")
    # not under pytest's folder (mode 0700): munged runs as the munge user and must reach its folder
    cluster = SingleNodeSlurm(Path(tempfile.mkdtemp(prefix="slurm-grade-")))
    try:
        cluster.start_all()
        yield cluster
    finally:
        left = cluster.stop()
        shutil.rmtree(cluster.folder, ignore_errors=True)
        assert not left, f"SLURM daemons left running: {left}"


@pytest.fixture(scope="module")
def workers(slurm, monkeypatch_module):
    """Two Dask workers as SLURM batch jobs (dask-jobqueue), and their scheduler."""
    from dask_jobqueue import SLURMCluster
    from distributed import Client

    monkeypatch_module.setenv("SLURM_CONF", str(slurm.conf))   # sbatch, squeue, scancel read it
    cluster = SLURMCluster(cores=1, processes=1, memory="3GB", walltime="00:30:00", queue="debug",
                           log_directory=str(slurm.folder / "logs"), local_directory=str(slurm.folder / "work"))
    client = Client(cluster)
    try:
        cluster.scale(2)
        client.wait_for_workers(2, timeout=180)
        yield cluster, client
    finally:
        client.close()
        cluster.close()
        slurm.wait_until(lambda: not slurm.run("squeue", "-h").strip(), "an empty queue")


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_slurm_jobs_grade_the_batch(tmp_path_factory, workers):
    cluster, client = workers
    jobs = client.run(lambda: os.environ.get("SLURM_JOB_ID"))
    assert len(jobs) == 2 and all(jobs.values()) and len(set(jobs.values())) == 2, jobs
    assert "#SBATCH" in cluster.job_script() and "distributed.cli.dask_worker" in cluster.job_script()

    folder = tmp_path_factory.mktemp("slurm-course")
    course, inputs = folder / "course", folder / "inputs"
    inputs.mkdir()
    data, expected = notebooks(course)
    for student in STUDENTS:
        (inputs / f"{student}_{ASSIGNMENT}.ipynb").write_bytes(data[student])
    result = subprocess.run([sys.executable, "-m", "autograder.grade", str(inputs), "--course", str(course),
                             "--scheduler", cluster.scheduler_address, "--cell-timeout", str(CELL_TIMEOUT),
                             "--wall-time", "300"], cwd=folder, capture_output=True, text=True, timeout=1800)
    print(result.stdout[-4000:], result.stderr[-3000:])
    assert result.returncode == 0
    assert result.stdout.count("sandbox bwrap") == 2
    rows = read_grades(course)
    assert sorted(rows) == sorted(STUDENTS)
    for student in STUDENTS:
        assert {g: float(rows[student][g]) for g in TEST_CELLS} == expected[student], student
        assert rows[student]["sandbox"] == ("" if student == "frank" else "bwrap")   # frank: nothing ran
