"""What a hostile student does to the course hub's nbgrader exchange, from their own Unix account
(runuser, the system's python3): try to create, list, read, write or rename folders, and plant
submissions of their own making in inbound; and, from their own Jupyter server, run a fork bomb,
a process tree beyond their memory, CPU hogs and disk fillers. Used by tests/test_hub_exchange.py,
tests/test_hub_e2e.py and tests/test_hub_limits.py.
"""
import datetime
import json
import subprocess

# each attempt on a path: "ok" or the name of the error
ATTEMPTS = r"""
import json, os, sys
def attempt(action):
    try:
        action()
        return "ok"
    except OSError as e:
        return type(e).__name__
path = sys.argv[1]
print(json.dumps({
    "list": attempt(lambda: os.listdir(path)),
    "read": attempt(lambda: open(os.path.join(path, sys.argv[2])).read()),
    "create": attempt(lambda: os.mkdir(os.path.join(path, "planted"))),
    "rename": attempt(lambda: os.rename(path, path + "-moved")),
}))
"""

# folders in inbound (argv: inbound, the instructor's course directory, then NAME|KIND ...):
# KIND notebook: the notebook on stdin; link: the notebook and checks.py are symbolic links to
# the instructor's solutions and hidden checks; folder-link: the entry itself is a symbolic link
# to the instructor's source folder; sparse: the notebook and a sparse 2 GB file
FORGE = r"""
import os, sys
inbound, course = sys.argv[1], sys.argv[2]
notebook = sys.stdin.read()
for spec in sys.argv[3:]:
    name, kind = spec.rsplit("|", 1)
    folder = os.path.join(inbound, name)
    if kind == "folder-link":
        os.symlink(os.path.join(course, "source", "mlp_optimizers"), folder)
        continue
    os.mkdir(folder)
    if kind == "link":
        os.symlink(os.path.join(course, "source", "mlp_optimizers", "mlp_optimizers.ipynb"),
                   os.path.join(folder, "mlp_optimizers.ipynb"))
        os.symlink(os.path.join(course, "autograder", "checks", "__init__.py"), os.path.join(folder, "checks.py"))
    else:
        with open(os.path.join(folder, "mlp_optimizers.ipynb"), "w") as f:
            f.write(notebook)
    if kind == "sparse":
        with open(os.path.join(folder, "big.bin"), "wb") as f:
            f.truncate(2 * 1024 ** 3)
    os.chmod(folder, 0o755)
"""


def nbgrader_time(when):
    """A time as nbgrader writes it in submission names and timestamp.txt."""
    return when.strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def from_now(**delta):
    return nbgrader_time(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(**delta))


def attempts(user, path, name="x"):
    """{list, read (path/name), create (a folder in path), rename (path)}: "ok" or the error."""
    result = subprocess.run(["runuser", "-u", user, "--", "/usr/bin/python3", "-c", ATTEMPTS, str(path), name],
                            capture_output=True, text=True, timeout=60, cwd="/")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def forge(user, inbound, course, entries, notebook_text):
    """Creates entries ({name: kind}) in inbound as user."""
    subprocess.run(["runuser", "-u", user, "--", "/usr/bin/python3", "-c", FORGE, str(inbound), str(course),
                    *[f"{name}|{kind}" for name, kind in entries.items()]],
                   input=notebook_text, text=True, check=True, capture_output=True, timeout=60, cwd="/")


def skip_reason(log, name):
    """The reason course_exchange.Collect logged for skipping the entry name ('' if none)."""
    for line in log.splitlines():
        if "Skipped (" in line and line.endswith(f"): {name}"):
            return line.split("Skipped (", 1)[1][:-len(f"): {name}")]
    return ""


# ------------------------------------------------------------------------------------------
# from the student's own Jupyter server: code run in a kernel the student starts there
# ------------------------------------------------------------------------------------------

# in a page of the student's JupyterLab (their cookies): start a kernel through the server's REST
# API, run the code over the kernel's websocket, return {"stdout", "error"} and shut the kernel down
RUN_IN_KERNEL = """async ([code, timeoutMs]) => {
  const base = document.location.pathname.replace(/\\/lab.*$/, "/");
  const xsrf = decodeURIComponent((document.cookie.split("; ").find(c => c.startsWith("_xsrf=")) || "=").split("=")[1]);
  const headers = {"Content-Type": "application/json", "X-XSRFToken": xsrf};
  const kernel = await (await fetch(base + "api/kernels", {method: "POST", headers, body: JSON.stringify({name: "python3"})})).json();
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + base + "api/kernels/" + kernel.id + "/channels";
  const ws = new WebSocket(url);
  const msgId = crypto.randomUUID();
  const result = await new Promise((resolve) => {
    let stdout = "", error = "";
    const timer = setTimeout(() => resolve({stdout, error: error + "timeout"}), timeoutMs);
    ws.onopen = () => ws.send(JSON.stringify({channel: "shell", buffers: [], metadata: {}, parent_header: {},
      header: {msg_id: msgId, msg_type: "execute_request", session: crypto.randomUUID(), username: "", version: "5.3",
               date: new Date().toISOString()},
      content: {code, silent: false, store_history: false, user_expressions: {}, allow_stdin: false, stop_on_error: true}}));
    ws.onmessage = (event) => {
      const msg = JSON.parse(event.data);
      if (msg.parent_header.msg_id !== msgId) return;
      if (msg.msg_type === "stream") stdout += msg.content.text;
      if (msg.msg_type === "error") error += msg.content.ename + ": " + msg.content.evalue;
      if (msg.msg_type === "status" && msg.content.execution_state === "idle") { clearTimeout(timer); resolve({stdout, error}); }
    };
    ws.onerror = () => { clearTimeout(timer); resolve({stdout, error: error + "websocket error"}); };
  });
  ws.close();
  await fetch(base + "api/kernels/" + kernel.id, {method: "DELETE", headers});
  return result;
}"""


def run_in_server(page, code, timeout=180):
    """Runs code in a new kernel of the student's own server (page: their JupyterLab);
    returns what it printed. Fails when the code raised or did not finish in timeout s."""
    result = page.evaluate(RUN_IN_KERNEL, [code, timeout * 1000])
    assert not result["error"], f"{result['error']}\n{result['stdout']}"
    return result["stdout"]


# the attacks, as kernel code: each prints one JSON line; processes left running are in the
# process group whose id it prints ("group"), for the test to end

# a fork bomb from a shell: bash's :(){ :|:& };: in a process group of its own
FORK_BOMB = r"""
import json, os, subprocess, time
bomb = subprocess.Popen(["bash", "-c", ":(){ :|:& };:"], start_new_session=True)
time.sleep(SECONDS)
print(json.dumps({"group": bomb.pid}))
"""

# processes that together allocate more than the student's memory total, each less than it
MEMORY_TREE = r"""
import json, subprocess, sys
grow = "import time; b = bytearray(EACH); time.sleep(20)"
children = [subprocess.Popen([sys.executable, "-c", grow]) for _ in range(COUNT)]
print(json.dumps({"returncodes": [child.wait() for child in children]}))
"""

# busy processes, more than the student's CPU total
CPU_HOG = r"""
import json, subprocess, sys
hogs = subprocess.Popen(["bash", "-c", "for i in $(seq COUNT); do python3 -c 'while True: pass' & done; wait"],
                        start_new_session=True)
print(json.dumps({"group": hogs.pid}))
"""

# writes one MiB after another into a new file in FOLDER (made if need be) until the disk
# refuses or LIMIT bytes are written
FILL_DISK = r"""
import errno, json, os
os.makedirs(os.path.expanduser(FOLDER), exist_ok=True)
path = os.path.join(os.path.expanduser(FOLDER), "filler.bin")
written, error = 0, None
try:
    with open(path, "wb") as f:
        while written < LIMIT:
            f.write(b"x" * 2**20)
            written += 2**20
        f.flush()
        os.fsync(f.fileno())
except OSError as e:
    error = errno.errorcode.get(e.errno, str(e.errno))
print(json.dumps({"written": written, "error": error, "path": path}))
"""


def attack(code, **values):
    """An attack's code with its placeholders (SECONDS, EACH, COUNT, FOLDER, LIMIT) filled in."""
    for name, value in values.items():
        code = code.replace(name, repr(value) if isinstance(value, str) else str(value))
    return code
