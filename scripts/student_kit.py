"""Build the student kit: one zip with everything a student needs and nothing of the instructor's.

    .venv/bin/python scripts/student_kit.py [--out results/student_kit/mlp_optimizers_student.zip]

(`make student-kit` does exactly this.) The zip holds one folder:

    mlp_optimizers_student/
        README.md            how to install, open, check and hand in (Chinese)
        requirements.txt     every package a fresh virtual environment needs, pinned
        setup_jupyterlab.py  run once after pip install: a student's JupyterLab (nbgrader's Validate
                             only, as on the course hub), written into the virtual environment
        mlp_optimizers/      the committed release: notebook, utils.py, public_tests.py, images/
        data/mnist/          the four MNIST files, their README (license, citation) and SHA256SUMS

Students never see the course repository: no source/ (solutions), no autograder/ (reference
and hidden checks). The notebook finds data/mnist beside its folder by itself.

requirements.txt pins the packages the notebook, JupyterLab and nbgrader's Validate button
need, and every package they depend on, at the versions of the course's own lock
(requirements.txt of this repository), so a student gets the environment the course is
tested with. The zip is byte-for-byte reproducible (fixed timestamps, sorted entries).
"""
import argparse
import importlib.metadata
import re
import sys
import zipfile
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "mlp_optimizers"
RELEASE = ROOT / "release" / ASSIGNMENT
DATA = ROOT / "data" / "mnist"
LOCK = ROOT / "requirements.txt"
KIT = f"{ASSIGNMENT}_student"
DEFAULT_OUT = ROOT / "results" / "student_kit" / f"{KIT}.zip"

# What a student installs: the notebook's imports (numpy, matplotlib, threadpoolctl), a kernel,
# JupyterLab, and nbgrader for the Validate button. Their dependencies come with them.
STUDENT_PACKAGES = ("numpy", "matplotlib", "threadpoolctl", "ipykernel", "jupyterlab", "nbgrader")
# pip freeze leaves setuptools out of the lock: any recent version does (nbgrader needs it).
UNPINNED = {"setuptools"}
DATA_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
              "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "README.md", "SHA256SUMS")
PYTHON_REQUIRES = "3.11"  # numpy 2.4 needs Python 3.11 or later

# nbgrader's JupyterLab plugins and server extensions that only an instructor (or a student on
# the course hub, with its exchange) uses; the kit switches them off as the hub does for its
# student role (deploy/jupyterhub/course_hub.py), so a student's JupyterLab shows Validate only.
STUDENT_LAB_OFF = ("@jupyter/nbgrader:assignment-list", "@jupyter/nbgrader:course-list",
                   "@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                   "@jupyterlab/apputils-extension:announcements")
STUDENT_SERVER_OFF = ("nbgrader.server_extensions.assignment_list", "nbgrader.server_extensions.course_list",
                      "nbgrader.server_extensions.formgrader")
SETUP_JUPYTERLAB = '''r"""把这个虚拟环境里的 JupyterLab 设置成学生用的样子：nbgrader 只留下工具栏的 Validate 按钮。

安装完 requirements.txt 之后运行一次：.venv/bin/python setup_jupyterlab.py
（Windows：.venv\\Scripts\\python setup_jupyterlab.py）。nbgrader 还带有老师用的工具（Formgrader、
Course List、Create Assignment）和需要课程服务器的 Assignment List，本地用不上，这里把它们关掉。
设置写在这个虚拟环境的 etc/jupyter 文件夹里，不影响别的环境；删掉它写的两个文件就恢复原样。
它还把作业笔记本元数据里的 language_info 换成这个环境的（见最后几行），别的内容不变。
"""
import json
import sys
from pathlib import Path

LAB_OFF = {lab_off}
SERVER_OFF = {server_off}

etc = Path(sys.prefix) / "etc" / "jupyter"
page_config = etc / "labconfig" / "page_config.d" / "mlp_optimizers_student.json"
server_config = etc / "jupyter_server_config.d" / "zz_mlp_optimizers_student.json"
page_config.parent.mkdir(parents=True, exist_ok=True)
server_config.parent.mkdir(parents=True, exist_ok=True)
page_config.write_text(json.dumps({{"disabledExtensions": {{name: True for name in LAB_OFF}},
                                   "lockedExtensions": {{name: True for name in LAB_OFF}}}}, indent=2) + "\\n")
server_config.write_text(json.dumps({{"ServerApp": {{"jpserver_extensions": {{name: False for name in SERVER_OFF}}}}}},
                                    indent=2) + "\\n")

# 内核启动后，JupyterLab 把内核报告的 language_info（其中有 Python 的版本号）写进笔记本的元数据；
# 与文件里的不同时，没改过的笔记本一打开就显示“未保存”。这里先写入本环境的值，只改这一项。
notebook = Path(__file__).resolve().parent / "mlp_optimizers" / "mlp_optimizers.ipynb"
if notebook.exists():
    from ipykernel.ipkernel import IPythonKernel
    data = json.loads(notebook.read_text(encoding="utf-8"))
    if data["metadata"].get("language_info") != IPythonKernel.language_info:
        data["metadata"]["language_info"] = IPythonKernel.language_info
        notebook.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\\n", encoding="utf-8")
print("JupyterLab 已设置好：nbgrader 只留下 Validate。现在可以运行 jupyter lab。")
'''

README = """# 三层全连接神经网络与梯度下降优化算法：学生包

这个压缩包里有完成作业需要的全部文件：

```
mlp_optimizers_student/
    README.md            本说明
    requirements.txt     需要安装的 Python 包（固定版本）
    setup_jupyterlab.py  安装之后运行一次：JupyterLab 里 nbgrader 只留下 Validate
    mlp_optimizers/      作业：mlp_optimizers.ipynb、utils.py、public_tests.py、images/
    data/mnist/          MNIST 数据（四个 .gz 文件，以及数据的说明和校验和）
```

## 1 准备环境

需要 Python {python} 或更新的版本。在解压出来的 `mlp_optimizers_student` 文件夹里打开终端：

```bash
python3 -m venv .venv
.venv/bin/pip install -r requirements.txt
.venv/bin/python setup_jupyterlab.py
```

最后一行只需运行一次：nbgrader 还带有老师用的工具（Formgrader、Course List、Create Assignment）和需要课程服务器的 Assignment List，它把这些关掉，JupyterLab 里只留下 Validate 按钮。

Windows 上把 `.venv/bin/` 换成 `.venv\\Scripts\\`。用 conda 的同学可以先 `conda create -n mlp python={python}`、`conda activate mlp`，再 `pip install -r requirements.txt` 和 `python setup_jupyterlab.py`。

## 2 打开作业

```bash
.venv/bin/jupyter lab
```

在 JupyterLab 里打开 `mlp_optimizers/mlp_optimizers.ipynb`，从头开始按顺序阅读和运行。`load_mnist` 会自己找到旁边的 `data/mnist` 文件夹，所以请保持上面的文件夹结构；如果把数据放到了别处，先设置环境变量 `MNIST_DATA` 指向存放四个 .gz 文件的文件夹（例如 `export MNIST_DATA=$HOME/mlp_optimizers_student/data/mnist`），再启动 JupyterLab。

## 3 完成作业

- 每个需要填写的地方都夹在 `### START CODE HERE ###` 和 `### END CODE HERE ###` 之间。
- 每个练习后面的测试单元格运行可见测试（`public_tests.py`），通过时打印 `全部通过`。评分时同一个单元格还会运行更严格的隐藏测试。
- 3.3.1 的梯度检查和 3.4.3 的“记住 50 个训练样本”不计分，但能尽早发现反向传播和参数更新里的错误。
- 第 5 部分的思考题写在题目下面的单元格里，由老师人工评分。
- 完整运行一遍要训练 8 个网络，每个 10000 次迭代，需要几分钟。笔记本开头把 BLAS 限制为单线程：在多人共用的机器上这样快得多；自己的电脑很空闲时可以把 `BLAS_THREADS` 改成 `None`。
- 写代码、调试时可以把第一个代码单元格里的 `SHORT_RUN` 改成 `True`：每次训练只做 200 次迭代，几十秒就能从头运行到尾。回答思考题和提交之前改回 `False`，再完整运行一遍。

## 4 提交

1. 在 JupyterLab 里选择 *Kernel → Restart Kernel and Run All Cells*，确认从头到尾没有错误。
2. 点工具栏的 **Validate**（nbgrader 的验证），或在终端运行 `.venv/bin/nbgrader validate mlp_optimizers/mlp_optimizers.ipynb`。
3. 按老师的要求提交 `mlp_optimizers/mlp_optimizers.ipynb` 这一个文件。
"""


def _lock():
    """{canonical name: version} of the course's pinned environment."""
    pins = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)", line.strip())
        if match:
            pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


def _requires(name):
    """[(name, marker text or None)] a distribution installed here needs on this platform, no
    extras. A dependency that only some platforms need keeps its marker (e.g. pexpect is not
    installed on Windows); one this platform does not need is left for pip to resolve there."""
    try:
        requires = importlib.metadata.requires(name) or []
    except importlib.metadata.PackageNotFoundError:
        return []
    found = []
    for text in requires:
        requirement = Requirement(text)
        marker = requirement.marker
        if marker is not None and not marker.evaluate({"extra": ""}):
            continue
        conditional = marker is not None and "extra" not in str(marker)
        found.append((canonicalize_name(requirement.name), str(marker) if conditional else None))
    return found


def requirements_text():
    """Pinned requirements: STUDENT_PACKAGES and everything they depend on, at the lock's versions."""
    pins = _lock()
    markers = {canonicalize_name(name): None for name in STUDENT_PACKAGES}
    todo = list(markers)
    while todo:
        for dependency, marker in _requires(todo.pop()):
            if dependency not in markers:
                markers[dependency] = marker
                todo.append(dependency)
            elif marker is None and markers[dependency] is not None:
                markers[dependency] = None  # needed everywhere after all
    missing = sorted(name for name in markers if name not in pins and name not in UNPINNED)
    if missing:
        raise SystemExit(f"not pinned in {LOCK.name}: {', '.join(missing)} (run `make lock`?)")
    lines = [f"# Python {PYTHON_REQUIRES} 或更新的版本。安装：pip install -r requirements.txt"]
    lines += [name + (f"=={pins[name]}" if name in pins else "") + (f"; {markers[name]}" if markers[name] else "")
              for name in sorted(markers)]
    return "\n".join(lines) + "\n"


def kit_files():
    """[(path inside the zip, bytes)] in zip order."""
    files = [(f"{KIT}/README.md", README.format(python=PYTHON_REQUIRES).encode("utf-8")),
             (f"{KIT}/requirements.txt", requirements_text().encode("utf-8")),
             (f"{KIT}/setup_jupyterlab.py", SETUP_JUPYTERLAB.format(
                 lab_off=repr(STUDENT_LAB_OFF), server_off=repr(STUDENT_SERVER_OFF)).encode("utf-8"))]
    for path in sorted(RELEASE.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and ".ipynb_checkpoints" not in path.parts:
            files.append((f"{KIT}/{ASSIGNMENT}/{path.relative_to(RELEASE).as_posix()}", path.read_bytes()))
    for name in DATA_FILES:
        files.append((f"{KIT}/data/mnist/{name}", (DATA / name).read_bytes()))
    return files


def build(out=DEFAULT_OUT):
    """Writes the kit to out (a .zip) and returns its path."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in kit_files():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED if name.endswith(".gz") else zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    tmp.replace(out)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the zip to write")
    args = parser.parse_args(argv)
    path = build(args.out)
    with zipfile.ZipFile(path) as zf:
        count = len(zf.namelist())
    print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MB, {count} files)")


if __name__ == "__main__":
    sys.exit(main())
