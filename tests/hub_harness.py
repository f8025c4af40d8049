"""What the browser tests of the course hub (tests/test_hub_e2e.py, tests/test_hub_limits.py)
share: why they cannot run on this machine, starting and stopping the hub, waiting for it to
answer."""
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy" / "jupyterhub"))
import course_hub  # noqa: E402

CHROMIUM = "/usr/bin/chromium"


def browser_hub_skip_reason():
    """Why a hub cannot be set up and driven in a browser here (None: it can)."""
    if os.geteuid() != 0:
        return "needs root: it creates Unix accounts and runs JupyterHub with PAM"
    if not Path(CHROMIUM).exists():
        return "Debian's chromium is not installed (apt-get install chromium; .ci/run installs it)"
    missing = course_hub.missing_tools()
    if missing:
        return "cannot set up the course hub: " + "; ".join(missing)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -r requirements.txt)"
    return None


def responds(url, timeout=60):
    """True when url answers 200 within timeout s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


def start_hub(state, log):
    """`course_hub.py start --state state` in a session of its own, its output into the open file log."""
    command = ["/usr/bin/python3", str(Path(course_hub.__file__).resolve()), "start", "--state", str(state)]
    return subprocess.Popen(command, cwd=state, stdout=log, stderr=subprocess.STDOUT,
                            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}, start_new_session=True)


def stop_hub(process):
    """SIGTERM to the hub (it stops the proxy and the user servers), SIGKILL after 60 s."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
