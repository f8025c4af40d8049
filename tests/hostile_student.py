"""What a hostile student does to the course hub's nbgrader exchange, from their own Unix account
(runuser, the system's python3): try to create, list, read, write or rename folders, and plant
submissions of their own making in inbound. Used by tests/test_hub_exchange.py and
tests/test_hub_e2e.py.
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
        os.symlink(os.path.join(course, "autograder", "checks.py"), os.path.join(folder, "checks.py"))
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
