"""The course on a real JupyterHub, clicked through in a real browser (Debian's chromium driven by
Playwright), as students and the instructor use it:

  the instructor logs in through the hub's login page, sees nbgrader's instructor menus and
  releases the assignment in the formgrader; two students log in, see only the student menus,
  fetch the assignment from the Assignments tab, open the notebook, type two answers in the
  editor (the rest of their notebook was written beforehand as their own Unix user), run all
  cells, press Validate and read its result, and submit; one answers correctly, the other makes
  a typical mistake (Momentum updates the parameters out of place); the instructor collects
  them in the formgrader, grades them with `grade` (collect-and-grade) and releases the
  feedback; each student fetches the feedback in the browser and reads the verified score and,
  for the mistake, its message.

A third student attacks the exchange from their own Unix account (tests/hostile_student.py):
before the release they cannot create folders at the exchange root or in the course's folders;
they cannot list inbound, nor read, write or rename a classmate's submission folder; their
submission whose notebook is a symbolic link to the instructor's solutions, their submissions in
the classmates' names (one dated after the classmate's real one, one next year) and their
submission with a sparse 2 GB file are skipped by collect with their reasons, and the two
classmates are graded as usual. The hub refuses to start while students could read the
checkout (it is made private for the run, and its mode restored afterwards). A student's kernel
runs under the course's limits (course_hub.STUDENT_LIMITS).

The hub is the deployment of deploy/jupyterhub/ (course_hub.py: PAM accounts, the nbgrader
exchange, JupyterHub 6.1.1 with configurable-http-proxy 5.3.0), with the students' training
cells on the short schedule. Screenshots of every step go to results/e2e/ (steps.txt lists them
with their times; measurements.json holds the memory and CPU time of a student's kernel after
Run All). Everything it creates (accounts, exchange, hub, proxy and servers) is removed at the
end, also when a step fails. Needs root, Debian's chromium, node and npm, bubblewrap; skips with
the reason otherwise.
"""
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HUB_DIR = ROOT / "deploy" / "jupyterhub"
RESULTS = ROOT / "results" / "e2e"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
VIEWPORT = {"width": 1400, "height": 900}
ASSIGNMENT = "mlp_optimizers"
INSTRUCTOR = "e2e-teacher"
CORRECT, MISTAKE = "e2e-alice", "e2e-bob"
ATTACKER = "e2e-eve"           # never logs in: works from their own Unix account
TYPED = {"leaky_relu": "class LeakyRelu:", "momentum": "class Momentum:"}   # answers typed in the browser
BUG = "momentum_out_of_place"
LOGIN_TIMEOUT = 120_000        # ms: first login starts the user's server
RUN_ALL_TIMEOUT = 420          # s: Run All on the short schedule (about 40 s alone)
VALIDATE_TIMEOUT = 420_000     # ms: nbgrader validate runs the notebook again

pytestmark = pytest.mark.slow
# scrolls the notebook so that the bottom of the element is at the bottom of the view
SCROLL_TO_BOTTOM = """e => {
    const outer = e.closest('.jp-WindowedPanel-outer');
    outer.scrollTop += e.getBoundingClientRect().bottom - outer.getBoundingClientRect().bottom + 16;
}"""

sys.path.insert(0, str(HUB_DIR))
import course_hub  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from hostile_student import attempts, forge, from_now, skip_reason  # noqa: E402
from hub_harness import CHROMIUM, browser_hub_skip_reason, responds, start_hub, stop_hub  # noqa: E402


def _skip_reason():
    if browser_hub_skip_reason():
        return browser_hub_skip_reason()
    if not (shutil.which("node") and shutil.which("npm")):
        return "node and npm are not installed (apt-get install nodejs npm; .ci/run installs them)"
    if not shutil.which("bwrap"):
        return "bubblewrap is not installed (apt-get install bubblewrap): grade needs it"
    return None


if _skip_reason():
    pytest.skip(_skip_reason(), allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402

expect.set_options(timeout=30_000)   # every expectation on a page waits at most 30 s (unless it says otherwise)

from autograder import examples  # noqa: E402
from autograder.parts import TEST_CELLS  # noqa: E402


# ------------------------------------------------------------------------------------------
# the students' notebooks
# ------------------------------------------------------------------------------------------

def _answer(source):
    """A solution cell of the source notebook as a student writes it (no nbgrader markers)."""
    return "\n".join(line for line in source.split("\n")
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


def answers(bug=None):
    """{grade_id: text} of every answer cell: the reference solution, with the catalogue's
    mistake bug (an entry id) in its part's cell."""
    notebook = examples.with_entry(bug) if bug else examples.source_notebook()
    return {cell.metadata["nbgrader"]["grade_id"]: _answer(cell.source) for cell in notebook.cells
            if cell.get("metadata", {}).get("nbgrader", {}).get("solution")}


def prefilled(fetched, answered, typed):
    """The fetched notebook (JSON) with every answer filled in except the cells in typed."""
    notebook = json.loads(fetched)
    for cell in notebook["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in answered and grade_id not in typed:
            cell["source"] = answered[grade_id]
    return json.dumps(notebook, ensure_ascii=False, indent=1) + "\n"


# ------------------------------------------------------------------------------------------
# the hub
# ------------------------------------------------------------------------------------------

class Steps:
    """Screenshots and the time of each step (results/e2e/steps.txt)."""

    def __init__(self):
        self.start = time.monotonic()
        self.lines = []
        self.shots = 0
        shutil.rmtree(RESULTS, ignore_errors=True)
        RESULTS.mkdir(parents=True)

    def note(self, text):
        line = f"{time.monotonic() - self.start:7.1f} s  {text}"
        self.lines.append(line)
        print(line, flush=True)
        (RESULTS / "steps.txt").write_text("\n".join(self.lines) + "\n")

    def shot(self, page, name, what):
        self.shots += 1
        file = f"{self.shots:02d}-{name}.png"
        page.screenshot(path=str(RESULTS / file))
        self.note(f"{file}  {what}")


@pytest.fixture(scope="module")
def hub():
    """A course hub on 127.0.0.1 (its own accounts, state and exchange); removed afterwards."""
    steps = Steps()
    state = Path(tempfile.mkdtemp(prefix="mlp-hub-e2e-"))
    process = None
    log = None
    checkout_mode = os.stat(ROOT).st_mode & 0o7777
    start = ["/usr/bin/python3", str(HUB_DIR / "course_hub.py"), "start", "--state", str(state)]
    try:
        steps.note("install (venv and proxy; reused when present) and setup (accounts, course, exchange)")
        settings = course_hub.setup(state, exchange=state / "exchange", instructor=INSTRUCTOR,
                                    students=[CORRECT, MISTAKE, ATTACKER], port=course_hub.free_port(), short_schedule=True,
                                    fresh=True)
        steps.note("setup done; starting JupyterHub")
        solutions = ROOT / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        if course_hub.open_to_students(ROOT, settings["students"]):
            # a checkout students can read: the hub refuses to start, naming the fix
            assert _cat(ATTACKER, solutions).returncode == 0, "the checkout was expected readable"
            refused = subprocess.run(start, capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})
            assert refused.returncode == 2 and f"chmod go-rwx {ROOT}" in refused.stderr, refused.stderr
            steps.note(f"start refused while students can read the checkout: {refused.stderr.strip()[:200]!r}")
            os.chmod(ROOT, checkout_mode & ~0o077)
        log = open(RESULTS / "hub.log", "w")
        process = start_hub(state, log)
        base = f"http://127.0.0.1:{settings['port']}"
        assert responds(f"{base}/hub/login", 90), f"{base}/hub/login did not answer within 90 s"
        steps.note(f"hub up at {base}")
        accounts = json.loads((state / "accounts.json").read_text())
        # what students cannot read: the checkout, the instructor's course (solutions, checks,
        # gradebook), the hub's settings, passwords and database
        for path in (solutions, ROOT / "autograder" / "checks" / "__init__.py",
                     Path(settings["course_dir"]) / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                     Path(settings["course_dir"]) / "autograder" / "checks" / "__init__.py", state / "jupyterhub.sqlite",
                     state / "hub.json", state / "accounts.json"):
            denied = _cat(ATTACKER, path)
            assert denied.returncode != 0 and "Permission denied" in denied.stderr, f"a student can read {path}"
        # before the release: no student creates folders at the exchange root or in the course's
        exchange = Path(settings["exchange"])
        for folder in (exchange, exchange / ASSIGNMENT, exchange / ASSIGNMENT / "outbound",
                       exchange / ASSIGNMENT / "feedback"):
            assert attempts(ATTACKER, folder)["create"] == "PermissionError", f"a student can write {folder}"
        yield {"settings": settings, "base": base, "accounts": accounts, "steps": steps, "state": state}
    finally:
        os.chmod(ROOT, checkout_mode)
        if process is not None:
            stop_hub(process)
        if log is not None:
            log.close()
        course_hub.teardown(state)
        shutil.rmtree(state, ignore_errors=True)
        leftovers = [name for name in (INSTRUCTOR, CORRECT, MISTAKE, ATTACKER) if course_hub.user_exists(name)]
        assert not leftovers, f"accounts left behind: {leftovers}"
        steps.note("hub stopped; accounts, exchange and state removed")


def _cat(user, path):
    return course_hub.run(["runuser", "-u", user, "--", "cat", str(path)], check=False)


# ------------------------------------------------------------------------------------------
# the attacker
# ------------------------------------------------------------------------------------------

def attack_inbound(hub):
    """After the release: the attacker's own entries in inbound, made from their account
    ({name: what collect must say}): links to the solutions and the checks, submissions in the
    classmates' names (bob's dated after his real one will be, alice's next year), one with a
    sparse 2 GB file."""
    settings = hub["settings"]
    inbound = Path(settings["exchange"]) / ASSIGNMENT / "inbound"
    soon, later, next_year = from_now(seconds=1), from_now(minutes=30), from_now(days=365)
    entries = {
        f"{ATTACKER}+{ASSIGNMENT}+{soon}+link": ("link", "holds no notebook"),
        f"{MISTAKE}+{ASSIGNMENT}+{later}+forged": ("notebook", f"the folder belongs to {ATTACKER}, not to {MISTAKE}"),
        f"{CORRECT}+{ASSIGNMENT}+{next_year}+forged": ("notebook", f"the folder belongs to {ATTACKER}, not to {CORRECT}"),
        f"{ATTACKER}+{ASSIGNMENT}+{soon}+sparse": ("sparse", "too big"),
    }
    stub = (ROOT / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text(encoding="utf-8")
    forge(ATTACKER, inbound, settings["course_dir"], {name: kind for name, (kind, _) in entries.items()}, stub)
    hub["steps"].note(f"{ATTACKER} planted {len(entries)} entries in inbound")
    return {name: reason for name, (_, reason) in entries.items()}


def attack_classmate(hub, victim):
    """The attacker, who learnt the name of the victim's submission folder, cannot list inbound,
    nor read, write or rename the folder."""
    inbound = Path(hub["settings"]["exchange"]) / ASSIGNMENT / "inbound"
    uid = pwd.getpwnam(victim).pw_uid
    names = [entry.name for entry in os.scandir(inbound) if entry.stat(follow_symlinks=False).st_uid == uid]
    assert names, f"no submission of {victim} in inbound"
    assert attempts(ATTACKER, inbound)["list"] == "PermissionError", "a student can list inbound"
    outcome = attempts(ATTACKER, inbound / names[0], f"{ASSIGNMENT}.ipynb")
    assert set(outcome.values()) == {"PermissionError"}, f"a student can reach {victim}'s submission: {outcome}"
    hub["steps"].note(f"{ATTACKER} cannot list inbound nor read, change or rename {victim}'s submission: {outcome}")


# ------------------------------------------------------------------------------------------
# browser steps
# ------------------------------------------------------------------------------------------

def wait_until(check, timeout, what, page=None, steps=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    if page is not None and steps is not None:
        steps.shot(page, "timeout", f"timed out: {what}")
    raise AssertionError(f"timed out after {timeout} s: {what}")


def login(browser, hub, user, label):
    steps = hub["steps"]
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{hub['base']}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", hub["accounts"][user])
    steps.shot(page, f"{label}-login", f"{user} at the hub's login page")
    page.click("#login_submit")
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").wait_for(timeout=LOGIN_TIMEOUT)
    return page


def nbgrader_menu(page, hub, label, user):
    """The visible entries of the Nbgrader menu (screenshot with the menu open)."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
    menu = page.locator("#jp-mainmenu-nbgrader")
    menu.wait_for()
    items = [text.strip() for text in menu.locator(".lm-Menu-itemLabel:visible").all_inner_texts()]
    hub["steps"].shot(page, f"{label}-menu", f"{user}'s JupyterLab, Nbgrader menu: {items}")
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()     # closed before the next click on the menu bar (which would toggle it)
    return items


def open_assignments(page):
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
    page.locator("#jp-mainmenu-nbgrader .lm-Menu-itemLabel", has_text="Assignment List").click()
    page.locator("#released_assignments_list").wait_for()


def formgrader(page, hub):
    page.goto(f"{hub['base']}/user/{INSTRUCTOR}/formgrader/manage_assignments")
    row = page.locator("tbody tr", has_text=ASSIGNMENT)
    row.wait_for()
    return row


def current_notebook(page):
    return page.locator(".jp-NotebookPanel:visible")


def code_cell(page, text):
    cells = current_notebook(page).locator(".jp-CodeCell").filter(has_text=text)
    expect(cells).to_have_count(1)
    return cells


def save(page, hub):
    page.keyboard.press("Control+s")
    wait_until(lambda: page.locator(".lm-TabBar-tab.jp-mod-current.jp-mod-dirty").count() == 0, 30,
               "the notebook is saved", page, hub["steps"])


def student_starts(browser, hub, user, label, answered):
    """Login, menus, fetch, the prefilled notebook, two answers typed, Run All started."""
    steps = hub["steps"]
    page = login(browser, hub, user, label)
    items = nbgrader_menu(page, hub, label, user)
    assert "Assignment List" in items
    assert not {"Formgrader", "Create assignment", "Course List"} & set(items), \
        f"a student sees instructor menus: {items}"

    open_assignments(page)
    released = page.locator("#released_assignments_list .list_item", has_text=ASSIGNMENT)
    released.locator("button", has_text="Fetch").click()
    fetched = page.locator("#fetched_assignments_list .list_item", has_text=ASSIGNMENT).first
    expect(fetched.locator("button", has_text="Submit")).to_be_visible()
    steps.shot(page, f"{label}-fetched", f"{user} fetched {ASSIGNMENT} from the Assignments tab")

    # the answers not typed in the browser, written by the student's own account
    home = Path(pwd.getpwnam(user).pw_dir)
    path = home / ASSIGNMENT / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert path.exists(), f"fetch did not create {path}"
    text = prefilled(path.read_text(encoding="utf-8"), answered, TYPED)
    course_hub.run(["runuser", "-u", user, "--", "/usr/bin/python3", "-c",
                    "import sys; open(sys.argv[1], 'w', encoding='utf-8').write(sys.stdin.read())", str(path)],
                   input=text)

    fetched.locator("a.assignment-notebooks-link").click()
    page.locator(f"#nbgrader-{ASSIGNMENT}-{ASSIGNMENT} a", has_text=ASSIGNMENT).first.click()
    notebook = current_notebook(page)
    notebook.locator(".jp-CodeCell").first.wait_for()
    expect(page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']:visible")).to_have_count(1, timeout=60_000)

    for grade_id, marker in TYPED.items():
        cell = code_cell(page, marker)
        assert "NotImplementedError" in cell.text_content(), f"{grade_id}: the fetched cell is not the stub"
        cell.locator(".cm-content").click()
        page.keyboard.press("Control+a")
        page.keyboard.insert_text(answered[grade_id])
        expect(cell.locator(".cm-content")).to_contain_text(answered[grade_id].strip().split("\n")[-1].strip())
    save(page, hub)
    code_cell(page, TYPED["momentum"]).scroll_into_view_if_needed()
    steps.shot(page, f"{label}-typed", f"{user} typed LeakyRelu and Momentum in the notebook editor")

    page.locator(".lm-MenuBar-itemLabel", has_text="Kernel").click()
    page.locator(".lm-Menu-itemLabel", has_text="Restart Kernel and Run All Cells").click()
    page.locator(".jp-Dialog .jp-mod-accept").click()
    running = notebook.locator(".jp-InputPrompt", has_text="[*]")
    wait_until(lambda: running.count() > 0, 60, "Run All starts", page, steps)
    steps.note(f"{user}: Run All started")
    return page


def student_finishes(hub, page, user, label, correct):
    """Waits for Run All, reads the test cells, Validate, Submit."""
    steps = hub["steps"]
    notebook = current_notebook(page)
    running = notebook.locator(".jp-InputPrompt", has_text="[*]")
    wait_until(lambda: running.count() == 0, RUN_ALL_TIMEOUT, f"{user}'s Run All finishes", page, steps)
    momentum_test = code_cell(page, "public_tests.test_momentum(Momentum)")
    momentum_test.scroll_into_view_if_needed()
    momentum_test.locator(".jp-OutputArea").evaluate(SCROLL_TO_BOTTOM)    # the end of the output in view
    output = momentum_test.locator(".jp-OutputArea").text_content()
    tracebacks = notebook.locator(".jp-OutputArea-output", has_text="Traceback").count()
    steps.shot(page, f"{label}-run-all", f"{user} after Run All; the Momentum test cell says: {output.strip()[:120]!r}")
    if correct:
        assert "全部通过" in output, output
        assert tracebacks == 0, f"{user}'s Run All raised in {tracebacks} cells"
        measure_kernel(hub, user)
    else:
        assert "原地更新" in output, output
    save(page, hub)

    notebook.locator(".validate-button").click()
    dialog = page.locator(".jp-Dialog #validation-message")
    dialog.wait_for(timeout=VALIDATE_TIMEOUT)
    message = dialog.inner_text()
    if not correct:   # the message is at the end of the traceback
        page.locator(".jp-Dialog-body").evaluate("e => e.scrollTop = e.scrollHeight")
    steps.shot(page, f"{label}-validate", f"{user} pressed Validate: {message.strip()[:120]!r}")
    if correct:
        assert "Success! Your notebook passes all the tests." in message, message
    else:
        assert "The following cell failed" in message and "test_momentum" in message, message
        assert "原地更新" in message, message
    page.locator(".jp-Dialog .jp-mod-accept").click()

    page.locator(".lm-TabBar-tab", has_text="Assignments").click()
    fetched = page.locator("#fetched_assignments_list .list_item", has_text=ASSIGNMENT).first
    fetched.locator("button", has_text="Submit").click()
    submitted = page.locator("#submitted_assignments_list .list_item", has_text=ASSIGNMENT)
    expect(submitted.first).to_be_visible(timeout=60_000)
    steps.shot(page, f"{label}-submitted", f"{user} submitted: {submitted.first.inner_text().strip()[:100]!r}")


# the rows of /proc/PID/limits for course_hub.STUDENT_LIMITS
LIMIT_ROWS = {"RLIMIT_NPROC": "Max processes", "RLIMIT_AS": "Max address space", "RLIMIT_FSIZE": "Max file size",
              "RLIMIT_CORE": "Max core file size"}


def process_limits(pid):
    """{RLIMIT_...: [soft, hard]} of the process pid, read from /proc/PID/limits."""
    rows = Path(f"/proc/{pid}/limits").read_text().splitlines()
    limits = {}
    for name, label in LIMIT_ROWS.items():
        (row,) = [line for line in rows if line.startswith(label + " ")]
        soft, hard = row[len(label):].split()[:2]
        limits[name] = [int(v) if v.isdigit() else v for v in (soft, hard)]
    return limits


def measure_kernel(hub, user):
    """Memory (RSS, USS) and CPU time of the student's kernel after Run All (measurements.json)."""
    import psutil
    uid = pwd.getpwnam(user).pw_uid
    kernels = [p for p in psutil.process_iter(["uids", "cmdline"])
               if p.info["uids"] and p.info["uids"].real == uid and "ipykernel_launcher" in " ".join(p.info["cmdline"] or [])]
    servers = [p for p in psutil.process_iter(["uids", "cmdline"])
               if p.info["uids"] and p.info["uids"].real == uid and "jupyterhub-singleuser" in " ".join(p.info["cmdline"] or [])]
    assert len(kernels) == 1, f"expected one kernel of {user}, found {len(kernels)}"
    kernel = kernels[0]
    memory = kernel.memory_full_info()
    cpu = kernel.cpu_times()
    result = {"kernel_rss_mb": round(memory.rss / 2**20, 1), "kernel_uss_mb": round(memory.uss / 2**20, 1),
              "kernel_cpu_seconds_short_run_all": round(cpu.user + cpu.system, 1),
              "kernel_address_space_mb": round(memory.vms / 2**20, 1),
              "server_rss_mb": round(sum(p.memory_info().rss for p in servers) / 2**20, 1),
              "schedule": "short (NBGRADER_EXECUTION: 200 iterations per optimizer)",
              "kernel_limits": process_limits(kernel.pid)}
    (RESULTS / "measurements.json").write_text(json.dumps(result, indent=2) + "\n")
    hub["steps"].note(f"{user}'s kernel after Run All: {result}")
    assert result["kernel_limits"] == {name: [value, value] for name, value in course_hub.STUDENT_LIMITS.items()}, \
        "the student's kernel runs without the course's limits"


def instructor_command(hub, *cmd):
    settings = hub["settings"]
    result = course_hub.as_user(INSTRUCTOR, list(cmd), course_hub.user_environment(settings, INSTRUCTOR),
                                cwd=settings["course_dir"], check=False, timeout=600)
    return result.returncode, result.stdout + result.stderr


def fetch_feedback(hub, page, user, label):
    """Assignments tab -> Fetch Feedback -> (view feedback) -> the feedback page in JupyterLab;
    returns (verified note, whole page text)."""
    steps = hub["steps"]
    page.reload()
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").wait_for(timeout=LOGIN_TIMEOUT)
    if page.locator("#submitted_assignments_list:visible").count() == 0:
        open_assignments(page)
    page.locator(".lm-TabBar-tab", has_text="Assignments").first.click()
    submitted = page.locator("#submitted_assignments_list .list_item", has_text=ASSIGNMENT).first
    submitted.locator("button", has_text="Fetch Feedback").click()
    view = page.locator("#submitted_assignments_list a", has_text="view feedback").first
    view.wait_for(timeout=60_000)
    steps.shot(page, f"{label}-feedback-fetched", f"{user} fetched the feedback")
    view.click()
    html = page.locator(".jp-DirListing-item", has_text=f"{ASSIGNMENT}.html")
    html.wait_for(timeout=30_000)
    html.dblclick()
    frame = page.frame_locator(".jp-HTMLViewer:visible iframe")
    note = frame.locator("#grade-verified")
    note.wait_for(timeout=30_000)
    text = note.inner_text()
    body = frame.locator("body").inner_text()
    steps.shot(page, f"{label}-feedback", f"{user} reads the feedback page: {' '.join(text.split())[:120]!r}")
    return text, body, frame


def total_of(note):
    match = re.search(r"总分：\s*([\d.]+)\s*/\s*(\d+)", note)
    assert match, f"no total in the verified note: {note!r}"
    return float(match.group(1)), int(match.group(2))


# ------------------------------------------------------------------------------------------
# the test
# ------------------------------------------------------------------------------------------

def test_course_on_jupyterhub_in_a_browser(hub):
    steps = hub["steps"]
    full = sum(TEST_CELLS.values())
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            # the instructor: menus, release in the formgrader
            teacher = login(browser, hub, INSTRUCTOR, "instructor")
            items = nbgrader_menu(teacher, hub, "instructor", INSTRUCTOR)
            assert {"Assignment List", "Course List", "Formgrader", "Create assignment"} <= set(items), items
            row = formgrader(teacher, hub)
            expect(row.locator("td.status")).to_have_text("draft")
            row.locator("td.release a").click()
            expect(row.locator("td.status")).to_have_text("released", timeout=60_000)
            steps.shot(teacher, "instructor-released", "the formgrader after Release: status released")
            planted = attack_inbound(hub)

            # the students: each one's Run All overlaps the other's steps
            alice = student_starts(browser, hub, CORRECT, "student1", answers())
            bob = student_starts(browser, hub, MISTAKE, "student2", answers(BUG))
            student_finishes(hub, alice, CORRECT, "student1", correct=True)
            student_finishes(hub, bob, MISTAKE, "student2", correct=False)
            attack_classmate(hub, CORRECT)

            # the instructor: collect (formgrader), grade (collect-and-grade), release feedback (formgrader)
            row = formgrader(teacher, hub)
            row.locator("td.collect a").click()
            modal = teacher.locator(".modal-dialog:visible")
            expect(modal).to_contain_text(f"Successfully collected submissions of '{ASSIGNMENT}'", timeout=60_000)
            expect(modal).to_contain_text(f"Collecting submission: {MISTAKE}")
            expect(modal).to_contain_text(f"not to {MISTAKE}")
            steps.shot(teacher, "instructor-collected", "the formgrader after Collect: both submissions collected")
            steps.note("collect-and-grade (nbgrader collect, then grade in the sandbox) ...")
            code, output = instructor_command(hub, "./collect-and-grade", "--workers", "2")
            (RESULTS / "grade-output.txt").write_text(output)
            assert code == 0, output[-3000:]
            assert re.search(rf"{CORRECT}\s+{full:g}\s*/\s*100", output), output[-3000:]
            assert re.search(rf"{MISTAKE}\s+{full - TEST_CELLS['test_momentum']:g}\s*/\s*100", output), output[-3000:]
            for name, reason in planted.items():
                assert reason in skip_reason(output, name), f"{name}: {reason!r} not in the output"
            assert not re.search(rf"{ATTACKER}\s+[\d.]+\s*/\s*100", output), output[-3000:]
            assert not (Path(hub["settings"]["course_dir"]) / "submitted" / ATTACKER).exists()
            steps.note("grade done (results/e2e/grade-output.txt)")

            teacher.goto(f"{hub['base']}/user/{INSTRUCTOR}/formgrader/gradebook/{ASSIGNMENT}/{ASSIGNMENT}")
            teacher.locator("button", has_text="Show All Names").click()
            for student, score in ((CORRECT, full), (MISTAKE, full - TEST_CELLS["test_momentum"])):
                expect(teacher.locator("tbody tr", has_text=student)).to_contain_text(f"{score:g} / {full:g}",
                                                                                       timeout=30_000)
            steps.shot(teacher, "instructor-gradebook", "the formgrader's gradebook after grade: the scores of both")

            row = formgrader(teacher, hub)
            row.locator("td.release-feedback a").click()
            modal = teacher.locator(".modal-dialog:visible")
            expect(modal).to_contain_text(f"Successfully released feedback of '{ASSIGNMENT}'", timeout=60_000)
            for student in (CORRECT, MISTAKE):
                expect(modal).to_contain_text(f"Releasing feedback for student '{student}'")
            steps.shot(teacher, "instructor-feedback-released", "the formgrader after Release Feedback")

            # the students read their feedback
            note, body, _ = fetch_feedback(hub, alice, CORRECT, "student1")
            assert total_of(note) == (full, 100), note
            note, body, frame = fetch_feedback(hub, bob, MISTAKE, "student2")
            assert total_of(note) == (full - TEST_CELLS["test_momentum"], 100), note
            assert "原地更新" in body, "the Momentum mistake's message is not on the feedback page"
            frame.locator("text=原地更新").last.scroll_into_view_if_needed()
            steps.shot(bob, "student2-feedback-message", f"{MISTAKE}'s feedback at the Momentum test: 原地更新")
        finally:
            browser.close()
    steps.note(f"end to end done in {time.monotonic() - steps.start:.0f} s")
