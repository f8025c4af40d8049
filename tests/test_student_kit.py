"""The student kit (scripts/student_kit.py, `make student-kit`): one zip with the release, the
data, a README and pinned requirements, and nothing of the instructor's; installed into a
fresh virtual environment from its own requirements.txt, it runs the notebook (with the
reference solution filled in) from top to bottom on the short schedule."""
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import student_kit  # noqa: E402

from autograder.course import ASSIGNMENT, RELEASE_DIR, SOURCE_DIR  # noqa: E402

KIT = student_kit.KIT
EXPECTED = {
    f"{KIT}/README.md", f"{KIT}/requirements.txt", f"{KIT}/setup_jupyterlab.py",
    f"{KIT}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb", f"{KIT}/{ASSIGNMENT}/utils.py", f"{KIT}/{ASSIGNMENT}/public_tests.py",
    *(f"{KIT}/data/mnist/{name}" for name in student_kit.DATA_FILES),
    *(f"{KIT}/{ASSIGNMENT}/images/{p.name}" for p in (RELEASE_DIR / "images").glob("*.png")),
}


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    return student_kit.build(tmp_path_factory.mktemp("kit") / f"{KIT}.zip")


def test_the_kit_holds_the_release_the_data_a_readme_and_requirements(kit):
    with zipfile.ZipFile(kit) as zf:
        assert set(zf.namelist()) == EXPECTED
        for path in RELEASE_DIR.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                assert zf.read(f"{KIT}/{ASSIGNMENT}/{path.relative_to(RELEASE_DIR).as_posix()}") == path.read_bytes()
        texts = {name: zf.read(name).decode("utf-8") for name in zf.namelist()
                 if name.endswith((".py", ".ipynb", ".md", ".txt"))}
    for name, text in texts.items():
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text, name
        assert "autograder" not in text and "make lab" not in text, name
    for name in (f"{KIT}/README.md", f"{KIT}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"):
        assert "source/" not in texts[name] and "课程仓库" not in texts[name], name


def test_the_requirements_are_pinned_and_cover_the_notebook(kit):
    with zipfile.ZipFile(kit) as zf:
        lines = [line for line in zf.read(f"{KIT}/requirements.txt").decode().splitlines()
                 if line and not line.startswith("#")]
    names = {re.split(r"[=;]", line)[0] for line in lines}
    assert {"numpy", "matplotlib", "threadpoolctl", "ipykernel", "jupyterlab", "nbgrader"} <= names
    unpinned = [line for line in lines if "==" not in line]
    assert unpinned == ["setuptools"], unpinned


def test_the_kit_is_reproducible(kit, tmp_path):
    again = student_kit.build(tmp_path / "again.zip")
    assert again.read_bytes() == kit.read_bytes()


def test_the_readme_uses_only_the_kit():
    readme = student_kit.README
    for step in ("python3 -m venv .venv", "pip install -r requirements.txt", "jupyter lab",
                 "mlp_optimizers/mlp_optimizers.ipynb", "MNIST_DATA", "Validate"):
        assert step in readme


def test_the_kit_switches_off_what_the_hub_switches_off_for_a_student():
    """The kit's JupyterLab is a student's: nbgrader's Validate only, as on the course hub."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("course_hub", ROOT / "deploy" / "jupyterhub" / "course_hub.py")
    hub = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hub)
    assert set(student_kit.STUDENT_LAB_OFF) == (
        {plugin for plugin, roles in hub.LAB_PLUGINS.items() if "student" not in roles}
        | {"@jupyter/nbgrader:assignment-list"} | set(hub.LAB_OFF))
    assert set(student_kit.STUDENT_SERVER_OFF) == (
        {ext for ext, roles in hub.SERVER_EXTENSIONS.items() if "student" not in roles}
        | {"nbgrader.server_extensions.assignment_list"})
    assert "setup_jupyterlab.py" in student_kit.README


def _with_solutions(notebook):
    """The kit's notebook with each solution cell (code and the answers to the questions)
    replaced by the source notebook's."""
    source = nbformat.read(SOURCE_DIR / f"{ASSIGNMENT}.ipynb", as_version=4)
    solutions = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells
                 if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in notebook.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in solutions:
            cell.source = solutions[grade_id]
    assert all("NotImplementedError" not in c.source for c in notebook.cells if c.cell_type == "code")
    return notebook


@pytest.mark.slow
def test_the_kit_runs_in_a_fresh_virtual_environment(kit, tmp_path):
    with zipfile.ZipFile(kit) as zf:
        zf.extractall(tmp_path)
    root = tmp_path / KIT
    venv = root / ".venv"
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "VIRTUAL_ENV", "MNIST_DATA", "JUPYTER_PATH", "JUPYTER_CONFIG_DIR")}
    env.update(MNIST_CACHE=str(tmp_path / "no-cache"), JUPYTER_DATA_DIR=str(tmp_path / "jupyter-data"),
               JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter-config"), IPYTHONDIR=str(tmp_path / "ipython"),
               MPLBACKEND="Agg", NBGRADER_EXECUTION="autograde", PIP_DISABLE_PIP_VERSION_CHECK="1")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env)
    install = subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "-r", "requirements.txt"],
                             cwd=root, env=env, capture_output=True, text=True, timeout=1800)
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]

    setup = subprocess.run([str(venv / "bin" / "python"), "setup_jupyterlab.py"], cwd=root, env=env,
                           capture_output=True, text=True, timeout=60)
    assert setup.returncode == 0, setup.stderr
    extensions = subprocess.run([str(venv / "bin" / "jupyter"), "labextension", "list"], cwd=root, env=env,
                                capture_output=True, text=True, timeout=300)
    disabled = extensions.stdout + extensions.stderr
    disabled = disabled[disabled.index("Disabled extensions"):]
    for plugin in student_kit.STUDENT_LAB_OFF:
        assert plugin in disabled, disabled
    assert "validate-assignment" not in disabled
    # the notebook's language_info is the kernel's: JupyterLab shows no unsaved marker on opening it
    kernel_info = subprocess.run([str(venv / "bin" / "python"), "-c", "import json; from ipykernel.ipkernel "
                                  "import IPythonKernel; print(json.dumps(IPythonKernel.language_info))"],
                                 env=env, capture_output=True, text=True, timeout=120, check=True)
    stamped = nbformat.read(root / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    assert stamped.metadata.language_info == json.loads(kernel_info.stdout)

    notebook_path = root / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    nbformat.write(_with_solutions(nbformat.read(notebook_path, as_version=4)), notebook_path)
    executed = root / ASSIGNMENT / "executed.ipynb"
    run = subprocess.run([str(venv / "bin" / "jupyter"), "nbconvert", "--to", "notebook", "--execute",
                          "--ExecutePreprocessor.timeout=600", "--output", executed.name, notebook_path.name],
                         cwd=notebook_path.parent, env=env, capture_output=True, text=True, timeout=1800)
    assert run.returncode == 0, run.stderr[-5000:]

    outputs = []
    for cell in nbformat.read(executed, as_version=4).cells:
        for output in cell.get("outputs", []):
            assert output.output_type != "error", (cell.source, output.get("evalue"))
            outputs.append(output.get("text", ""))
    text = "".join(outputs)
    assert text.count("全部通过") == 12, text  # ten visible tests and the two checks
    assert "BLAS 线程数限制为 1" in text
    assert not (tmp_path / "no-cache").exists(), "the notebook must find the kit's own data, not download it"
    validate = subprocess.run([str(venv / "bin" / "nbgrader"), "validate", notebook_path.name],
                              cwd=notebook_path.parent, env=env, capture_output=True, text=True, timeout=900)
    assert "Success! Your notebook passes all the tests." in validate.stdout, validate.stdout[-3000:]
