"""What one student costs on the course hub, measured: one Run All of the solved notebook in a
kernel of the hub's environment with one BLAS thread (as on the hub), its CPU time (core-seconds)
and wall time, and the kernel's memory after Run All (RSS) and at its peak (VmHWM); then the
students per node that these numbers allow.

    /opt/mlp-course-hub/venv/bin/python deploy/jupyterhub/measure_capacity.py \
        [--schedule full|short] [--out results/capacity/capacity.json] [--estimate-only]

full: the notebook's own schedule (7 optimizers x 10000 iterations, what a student's Run All
does); short: the grading schedule (NBGRADER_EXECUTION, 200 iterations). The notebook is the
source notebook with its hidden tests and nbgrader markers removed (the student's notebook with
every answer filled in), run in a scratch folder with the course's utils.py and public_tests.py.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "source" / "mlp_optimizers"

# the node sizes of the estimate (cores, GiB) and what a student is given (k8s/values.yaml)
NODES = [(2, 8), (4, 16), (8, 32), (16, 64)]
SERVER_MB = 172            # a user's jupyterhub-singleuser after login (tests/test_hub_e2e.py measures it)
GUARANTEE_GIB = 1.0        # values.yaml memory guarantee per student (kernel + server + Validate's kernel)
RESERVED_GIB = 1.0         # per node: kubelet, system pods, page cache of the image
RUNS_PER_HOUR = 2          # a lab session: each student runs the whole notebook twice an hour
RUSH_SECONDS = 600         # deadline rush: everybody presses Run All at once, each done within 10 min


def student_notebook():
    import nbformat
    notebook = nbformat.read(SOURCE / "mlp_optimizers.ipynb", as_version=4)
    for cell in notebook.cells:
        lines, hidden = [], False
        for line in cell.source.split("\n"):
            marker = line.strip()
            if marker == "### BEGIN HIDDEN TESTS":
                hidden = True
            elif marker == "### END HIDDEN TESTS":
                hidden = False
            elif not hidden and marker not in ("### BEGIN SOLUTION", "### END SOLUTION"):
                lines.append(line)
        cell.source = "\n".join(lines)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return notebook


class KernelWatch:
    """Samples the kernel process (the one child running ipykernel_launcher)."""

    def __init__(self):
        import psutil
        self.psutil = psutil
        self.kernel = None
        self.peak_rss = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def find(self):
        for child in self.psutil.Process().children(recursive=True):
            try:
                if "ipykernel_launcher" in " ".join(child.cmdline()):
                    return child
            except self.psutil.Error:
                pass
        return None

    def loop(self):
        while not self.stop.is_set():
            if self.kernel is None:
                self.kernel = self.find()
            if self.kernel is not None:
                try:
                    self.peak_rss = max(self.peak_rss, self.kernel.memory_info().rss)
                except self.psutil.Error:
                    pass
            time.sleep(0.2)

    def snapshot(self):
        kernel = self.kernel or self.find()
        cpu = kernel.cpu_times()
        memory = kernel.memory_full_info()
        hwm = 0
        with open(f"/proc/{kernel.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    hwm = int(line.split()[1]) * 1024
        return {"core_seconds": cpu.user + cpu.system + cpu.children_user + cpu.children_system,
                "rss_mb": memory.rss / 2**20, "uss_mb": memory.uss / 2**20,
                "peak_rss_mb": max(hwm, self.peak_rss) / 2**20}


def run_all(schedule):
    from nbclient import NotebookClient

    env = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "MLP_BLAS_THREADS": "1", "MNIST_DATA": str(REPO / "data" / "mnist")}
    os.environ.update(env)
    os.environ.pop("NBGRADER_EXECUTION", None)
    if schedule == "short":
        os.environ["NBGRADER_EXECUTION"] = "short-schedule"
    notebook = student_notebook()
    folder = Path(tempfile.mkdtemp(prefix="capacity-"))
    try:
        for name in ("utils.py", "public_tests.py"):
            shutil.copy2(SOURCE / name, folder / name)
        shutil.copytree(SOURCE / "images", folder / "images")
        watch = KernelWatch()
        result = {}
        started = []

        def on_start(**kwargs):
            started.append(time.monotonic())

        def on_cell(**kwargs):   # after each cell, while the kernel is alive: the last one counts
            result.update(watch.snapshot())
            result["wall_seconds"] = time.monotonic() - started[0]

        client = NotebookClient(notebook, timeout=3600, kernel_name="python3",
                                resources={"metadata": {"path": str(folder)}},
                                on_notebook_start=on_start, on_cell_executed=on_cell)
        client.execute()
        watch.stop.set()
        errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])
                  if o.get("output_type") == "error"]
        if errors:
            raise SystemExit(f"the notebook raised: {errors[0].get('ename')}: {errors[0].get('evalue')}")
        return result
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def estimate(core_seconds, kernel_mb):
    """Students per node, from the measured core-seconds of one full Run All and the kernel's
    memory: memory (the guarantee per student), CPU in a lab session (RUNS_PER_HOUR full runs
    per student and hour) and CPU in a deadline rush (everybody at once, done in RUSH_SECONDS)."""
    rows = []
    for cores, gib in NODES:
        by_memory = int((gib - RESERVED_GIB) / GUARANTEE_GIB)
        session = int(cores * 3600 / (core_seconds * RUNS_PER_HOUR))
        rush = int(cores * RUSH_SECONDS / core_seconds)
        rows.append({"cores": cores, "memory_gib": gib, "by_memory": by_memory, "cpu_session": session,
                     "cpu_rush": rush, "students": min(by_memory, session), "students_rush": min(by_memory, rush)})
    return {"student_steady_mb": round(kernel_mb + SERVER_MB), "student_peak_mb": round(2 * kernel_mb + SERVER_MB),
            "guarantee_gib": GUARANTEE_GIB, "run_alls_per_core_hour": round(3600 / core_seconds, 1),
            "assumptions": {"server_mb": SERVER_MB, "reserved_gib_per_node": RESERVED_GIB,
                            "runs_per_student_hour": RUNS_PER_HOUR, "rush_seconds": RUSH_SECONDS},
            "nodes": rows}


def report(result):
    print(json.dumps({k: v for k, v in result.items() if k != "estimate"}, indent=2))
    e = result["estimate"]
    print(f"a student: {e['student_steady_mb']} MB after Run All (kernel + server), {e['student_peak_mb']} MB "
          f"while Validate's kernel runs; {e['run_alls_per_core_hour']} full Run Alls per core-hour")
    print(f"{'node':>14} {'by memory':>10} {'CPU, session':>13} {'CPU, rush':>10} {'students':>9} {'rush':>5}")
    for row in e["nodes"]:
        print(f"{row['cores']:>3} cores {row['memory_gib']:>2} GiB {row['by_memory']:>10} {row['cpu_session']:>13} "
              f"{row['cpu_rush']:>10} {row['students']:>9} {row['students_rush']:>5}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schedule", choices=["full", "short"], default="full")
    parser.add_argument("--out", default=str(REPO / "results" / "capacity" / "capacity.json"))
    parser.add_argument("--estimate-only", action="store_true",
                        help="recompute the estimate from the measurements already in --out")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if args.estimate_only:
        result = json.loads(out.read_text())
    else:
        print(f"Run All of the solved notebook, {args.schedule} schedule, one BLAS thread ...", flush=True)
        measured = run_all(args.schedule)
        result = {"schedule": args.schedule, "cpu_count": os.cpu_count(),
                  **{k: round(v, 1) for k, v in measured.items()}}
    result["estimate"] = estimate(result["core_seconds"], result["peak_rss_mb"])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    report(result)
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
