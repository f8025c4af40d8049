"""The Kubernetes deployment (deploy/jupyterhub/k8s/) in step with the course's own hub, checked
without a cluster:

  values.yaml's per-student memory, CPU and home size are course_hub.StudentTotals; the image's
  role configuration sends every exchange step through course_exchange.py; the hub's pre_spawn
  hook (values.yaml's extraConfig, run in the hub's JupyterHub against a real JupyterHub
  database) gives every pod a uid and gid of its own, the instructor's pod the table of the
  students' uids that collect checks owners against, and every pod an init container whose
  command, run here as root, lays out the exchange as course_hub.py does on its own hub; the
  image's start-singleuser.sh names a pod's uid jovyan, so nbgrader takes the student's name
  from JUPYTERHUB_USER.
"""
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
HUB_DIR = ROOT / "deploy" / "jupyterhub"
K8S = HUB_DIR / "k8s"
sys.path.insert(0, str(HUB_DIR))
import course_hub  # noqa: E402

HUB_PYTHON = course_hub.DEFAULT_PREFIX / "venv" / "bin" / "python"
UNUSED_UID = 54321                       # a uid no account of this machine has
BINARY_SUFFIXES = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}     # KubeSpawner's mem_limit
QUANTITY_SUFFIXES = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}   # Kubernetes' storage


def values():
    return yaml.safe_load((K8S / "values.yaml").read_text())


def test_the_limits_per_student_are_the_hubs_totals():
    singleuser, totals = values()["singleuser"], course_hub.StudentTotals()
    memory = singleuser["memory"]["limit"]
    assert float(memory[:-1]) * BINARY_SUFFIXES[memory[-1]] == totals.memory_bytes
    assert float(singleuser["cpu"]["limit"]) == totals.cpus
    capacity = singleuser["storage"]["capacity"]
    assert int(capacity[:-2]) * QUANTITY_SUFFIXES[capacity[-2:]] == totals.home_bytes


def test_the_images_configuration_uses_the_courses_exchange(tmp_path):
    subprocess.run([sys.executable, str(HUB_DIR / "course_hub.py"), "config", "--out", str(tmp_path),
                    "--exchange", "/srv/nbgrader/exchange"], check=True, capture_output=True)
    config = (tmp_path / "common" / "nbgrader_config.py").read_text()
    for step, name in (("collect", "Collect"), ("submit", "Submit"), ("release_assignment", "ReleaseAssignment")):
        assert f'c.ExchangeFactory.{step} = "course_exchange.{name}"' in config
    assert (tmp_path / "common" / "course_exchange.py").read_bytes() == (HUB_DIR / "course_exchange.py").read_bytes()


# the hub's side: values.yaml's extraConfig in the hub's JupyterHub, a real (in-memory) database
PRE_SPAWN = r"""
import asyncio, json, sys, types
from traitlets.config import Config
from jupyterhub import orm

c = Config()
exec(sys.stdin.read(), {"c": c})
db = orm.new_session_factory("sqlite://")()
users = {name: orm.User(name=name) for name in ("hub-admin", "mlp-teacher", "student001", "student002")}
db.add_all(users.values())
for group, members in (("nbgrader-mlp_optimizers", ["student001", "student002"]), ("formgrade-mlp_optimizers", ["mlp-teacher"])):
    db.add(orm.Group(name=group, users=[users[name] for name in members]))
db.commit()
found = {}
for name, user in users.items():
    spawner = types.SimpleNamespace(user=types.SimpleNamespace(db=db, id=user.id, name=name, groups=user.groups),
                                    init_containers=[], environment={}, volumes=[], volume_mounts=[])
    asyncio.run(c.KubeSpawner.pre_spawn_hook(spawner))
    found[name] = {"id": user.id, "uid": c.KubeSpawner.uid(spawner), "gid": c.KubeSpawner.gid(spawner),
                   "init": [container["command"] for container in spawner.init_containers],
                   "uids": spawner.environment.get("COURSE_EXCHANGE_UIDS")}
print(json.dumps(found))
"""


def test_the_hubs_pre_spawn_hook_gives_owners_and_the_exchange_layout(tmp_path):
    if not HUB_PYTHON.exists():
        pytest.skip(f"the hub's software is not installed ({HUB_PYTHON}: course_hub.py install)")
    if os.geteuid() != 0:
        pytest.skip("needs root: runs the init container's chown")
    extra = values()["hub"]["extraConfig"]["20-course"]
    result = subprocess.run([str(HUB_PYTHON), "-c", PRE_SPAWN], input=extra, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    pods = json.loads(result.stdout)
    assert len({pod["uid"] for pod in pods.values()}) == len(pods), "two pods share a uid"
    assert all(pod["uid"] == pod["gid"] != 0 for pod in pods.values()), pods
    teacher = pods["mlp-teacher"]
    assert json.loads(teacher["uids"]) == {name: pods[name]["uid"] for name in ("student001", "student002")}
    assert pods["student001"]["uids"] is None, "a student's pod gets the table"
    # every pod's init container lays out the exchange; run it here on a folder of our own
    (command,) = pods["student001"]["init"]
    assert command[:2] == ["sh", "-c"] and all(pod["init"] == [command] for pod in pods.values())
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    subprocess.run(["sh", "-c", command[2].replace("/srv/nbgrader/exchange", str(exchange))], check=True)
    assert (exchange.stat().st_uid, stat.S_IMODE(exchange.stat().st_mode)) == (0, 0o755)
    for name, mode in course_hub.EXCHANGE_FOLDERS:
        info = (exchange / course_hub.COURSE_ID / name).stat()
        assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (teacher["uid"], teacher["uid"], mode), name


def test_a_pods_uid_is_named_jovyan_so_nbgrader_asks_the_hub_for_the_student(tmp_path):
    if not HUB_PYTHON.exists():
        pytest.skip(f"the hub's software is not installed ({HUB_PYTHON}: course_hub.py install)")
    if os.geteuid() != 0:
        pytest.skip("needs root: runs as a uid without an account")
    if not list(Path("/usr/lib").glob("*/libnss_wrapper.so")):
        pytest.skip("libnss-wrapper is not installed (apt-get install libnss-wrapper; the image has it)")
    code = ("import os, pwd; from nbgrader.utils import get_username; "
            "print(pwd.getpwuid(os.getuid()).pw_name, get_username())")
    os.chmod(tmp_path, 0o777)
    result = subprocess.run(["setpriv", f"--reuid={UNUSED_UID}", f"--regid={UNUSED_UID}", "--clear-groups",
                             "env", "-i", "PATH=/usr/bin:/bin", f"HOME={tmp_path}", "JUPYTERHUB_USER=student042",
                             str(K8S / "start-singleuser.sh"), str(HUB_PYTHON), "-c", code],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["jovyan", "student042"]
