"""JupyterHub configuration of the course hub (JupyterHub 6.1.1, configurable-http-proxy 5.3.0).

Started by `course_hub.py start` (or `make hub`) as root, with COURSE_HUB_STATE pointing at the
hub's folder, whose hub.json (written by `course_hub.py setup`) names the accounts, ports and
folders. Everything listens on 127.0.0.1; put a TLS proxy in front of the public port (or set
c.JupyterHub.ssl_key / ssl_cert) before students use it from other machines.

  login        PAM: the students' and the instructor's Unix passwords
  servers      LocalProcessSpawner: each user's JupyterLab runs as that Unix user, in their home
  groups       nbgrader-mlp_optimizers (students), formgrade-mlp_optimizers (the instructor):
               nbgrader's JupyterHubAuthPlugin shows each user the courses of their groups
  exchange     nbgrader's file exchange through course_exchange.py (STATE/etc/jupyter/common):
               a submission is collected only from the student who owns it
  extensions   students: Assignments (fetch, submit, feedback) and Validate; the instructor
               also: Courses, Formgrader, Create Assignment (STATE/etc/jupyter/<role>)
  limits       one BLAS thread per server; idle kernels and servers are shut down; a student's
               server and what it starts: a cgroup of the student's with the totals of
               course_hub.StudentTotals (memory, CPU, processes; student_cgroup.py), and
               course_hub.STUDENT_LIMITS (hard rlimits per process: processes of the account,
               address space, size of one file); the home and inbound are filesystems of
               their own (course_hub.mount_disks)
"""
import json
import os
import sys
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # the checkout: autograder.sandbox.limits
import course_hub  # noqa: E402  (this folder's script: the users' environment)
from student_cgroup import StudentCgroup  # noqa: E402

c = get_config()  # noqa: F821  (provided by JupyterHub when it loads this file)

STATE = Path(os.environ.get("COURSE_HUB_STATE", os.getcwd())).absolute()
S = json.loads((STATE / "hub.json").read_text())
COURSE = S["course_id"]
INSTRUCTOR = S["instructor"]
STUDENTS = S["students"]
IP = S["ip"]

# --- network: the public port, the hub's API and the proxy's API, all on 127.0.0.1 ----------
c.JupyterHub.bind_url = f"http://{IP}:{S['port']}"
c.JupyterHub.hub_ip = IP
c.JupyterHub.hub_port = S["hub_port"]
c.ConfigurableHTTPProxy.command = [S["proxy"]]
c.ConfigurableHTTPProxy.api_url = f"http://{IP}:{S['proxy_api_port']}"
c.ConfigurableHTTPProxy.pid_file = str(STATE / "proxy.pid")
c.JupyterHub.pid_file = str(STATE / "jupyterhub.pid")
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
# stopping the hub stops the user servers too
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True

# --- who may log in: the course's Unix accounts, by password (PAM) ---------------------------
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.open_sessions = False   # no login session (systemd-logind) per server
c.Authenticator.allowed_users = {INSTRUCTOR, *STUDENTS}
c.Authenticator.admin_users = set(S.get("admins", []))   # the hub's admin page: nobody by default
c.JupyterHub.template_vars = {"announcement_login": f"课程 {COURSE}：用你的课程账号登录 / log in with your course account"}

# --- groups and roles for nbgrader --------------------------------------------------------------
c.JupyterHub.load_groups = {
    f"nbgrader-{COURSE}": {"users": STUDENTS},
    f"formgrade-{COURSE}": {"users": [INSTRUCTOR]},
}
c.JupyterHub.load_roles = [
    # the instructor's Courses tab lists the hub's services (formgraders run as services elsewhere)
    {"name": f"formgrade-{COURSE}", "groups": [f"formgrade-{COURSE}"], "scopes": ["list:services", "read:services"]},
]
# The token each server gets ($JUPYTERHUB_API_TOKEN): JupyterHub's default server scopes, plus
# reading the user's own groups, which nbgrader's JupyterHubAuthPlugin asks for (GET /users/<self>).
# A token gets only those of these scopes that its user holds.
c.Spawner.server_token_scopes = [
    "users:activity!user", "access:servers!server",
    "read:users:name!user", "read:users:groups!user",
    "list:services", "read:services",
]

# --- the user servers -------------------------------------------------------------------------
c.Spawner.cmd = [f"{S['venv']}/bin/jupyterhub-singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.ip = IP
c.Spawner.notebook_dir = "~"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.Spawner.env_keep = []    # nothing from root's environment (its PATH, its Python)


class CourseSpawner(LocalProcessSpawner):
    """LocalProcessSpawner whose environment is course_hub.user_environment of the user:
    PATH (the course venv first: nbgrader runs alembic through PATH), LANG,
    JUPYTER_CONFIG_PATH (nbgrader's exchange and the role's extensions), one BLAS thread,
    MNIST_DATA; the instructor's PYTHONPATH holds the course directory (the autograder package).
    A student's server starts in a cgroup of its own limited to the hub's StudentTotals (made
    anew at each start, removed with whatever still runs in it when the server stops), with
    course_hub.STUDENT_LIMITS."""

    cgroup = None

    def get_env(self):
        env = super().get_env()
        env.update(course_hub.user_environment(S, self.user.name))
        return env

    def student(self):
        return course_hub.role_of(S, self.user.name) == "student"

    async def start(self):
        if self.student():
            self.cgroup, why = StudentCgroup.create(self.user.name, course_hub.student_totals(S))
            if self.cgroup is None:
                self.log.warning("%s's server runs without totals (%s): only the rlimits hold",
                                 self.user.name, why)
            else:
                self.log.info("%s's server: cgroup v%d %s", self.user.name, self.cgroup.version,
                              course_hub.student_totals(S))
        return await super().start()

    async def stop(self, now=False):
        await super().stop(now=now)
        if self.cgroup is not None:
            self.cgroup.remove()     # whatever the student left running (a detached process) ends here
            self.cgroup = None

    def make_preexec_fn(self, name):
        switch_user = super().make_preexec_fn(name)
        limits = course_hub.STUDENT_LIMITS if self.student() else {}
        cgroup = self.cgroup

        def preexec():
            if cgroup is not None:
                cgroup.join()                  # still root: the student cannot move out of it
            course_hub.apply_limits(limits)    # hard limits the student cannot raise
            switch_user()

        return preexec


c.JupyterHub.spawner_class = CourseSpawner
