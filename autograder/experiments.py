"""Train the seven optimizers of the course on MNIST and compare them; the challenge; the
full Run All of the notebook.

    python -m autograder.experiments --schedule full --out results/reproduce

writes results.md (a table: final test accuracy of each optimizer beside the
original assignment's), results.json (every history) and comparison.png (training
loss and test accuracy per epoch, one line per optimizer).

    python -m autograder.experiments --challenge --out results/challenge      (make challenge)

trains the course's own configuration of the optional challenge (test error <= 1.5 % with
the classes of the assignment) and writes results.md with its test error and wall time.

    python -m autograder.experiments --run-all [--notebook PATH] [--blas-threads N|default]

executes a notebook with the reference solution from top to bottom, as a student's
"Restart Kernel and Run All Cells" (the source notebook without its hidden tests by
default), and prints its wall time beside the FLOP limit of this machine: the notebook's
matrix-multiplication FLOPs divided by the rate of a large float32 matrix product with the
same number of BLAS threads.
"""
import argparse
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

from autograder.course import load_data, load_utils
from autograder.reference import OPTIMIZERS, ThreeLayerNet, train_network

# Final test accuracies printed by the original assignment (docs/design.md).
SEED_TEST_ACC = {"SGD": 0.9778, "AdaGrad": 0.9202, "RMSprop": 0.9800, "Momentum": 0.9129,
                 "Nesterov": 0.9128, "Adam": 0.9808, "AdaBelief": 0.9779}
# The original's hyper-parameters: SGD lr 0.1, every other optimizer lr 0.001.
LEARNING_RATES = {name: 0.1 if name == "SGD" else 0.001 for name in OPTIMIZERS}
SCHEDULES = {"full": 10000, "short": 1200}


def run(iters_num, batch_size=100, seed=0, verbose=False):
    """Trains a fresh 784-300-300-10 network with each optimizer.
    Returns dict name -> (history, seconds)."""
    (x_train, y_train), (x_test, y_test) = load_data()
    results = {}
    for name, cls in OPTIMIZERS.items():
        network = ThreeLayerNet(784, 300, 10)
        start = time.perf_counter()
        history = train_network(network, cls(LEARNING_RATES[name]), x_train, y_train,
                                x_test, y_test, iters_num=iters_num, batch_size=batch_size,
                                seed=seed, verbose=verbose)
        seconds = time.perf_counter() - start
        # the original's last printed line is the last per-epoch evaluation; add the final state
        history["final_test_acc"] = network.accuracy(x_test, y_test)
        results[name] = (history, seconds)
        print(f"{name:<10} final test acc {history['final_test_acc']:.4f}"
              f"  (last epoch {history['test_acc'][-1]:.4f}, {seconds:.1f} s)", flush=True)
    return results


def table(results):
    """Markdown table: each optimizer's accuracy beside the original's."""
    lines = ["| optimizer | lr | original test acc | ours: last epoch | ours: final | difference (pp) | time (s) |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for name, (history, seconds) in results.items():
        ours = history["test_acc"][-1]
        lines.append(f"| {name} | {LEARNING_RATES[name]} | {SEED_TEST_ACC[name]:.4f} | {ours:.4f} | "
                     f"{history['final_test_acc']:.4f} | {100 * (ours - SEED_TEST_ACC[name]):+.2f} | {seconds:.1f} |")
    return "\n".join(lines) + "\n"


# --- the challenge -------------------------------------------------------------------

# The course's configuration of the challenge: a wider network of the same family, Adam with
# a cosine learning-rate schedule per epoch, weight decay on the weights, He-style init.
CHALLENGE = {"hidden_size": 800, "weight_init_std": 0.05, "epochs": 30, "batch_size": 100,
             "learning_rate": 0.001, "final_learning_rate": 0.00001, "weight_decay": 1e-4, "seed": 0}
CHALLENGE_TARGET = 0.015  # test error; LeCun's table: 1.53 % for a 500+300 network


class WeightDecay:
    """An optimizer that adds weight_decay * W to the gradient of each weight matrix (not the
    biases), then lets optimizer update: L2 regularisation with the assignment's classes."""

    def __init__(self, optimizer, weight_decay):
        self.optimizer = optimizer
        self.weight_decay = weight_decay

    def update(self, params, grads):
        grads = dict(grads)
        for key in params:
            if key.startswith("W"):
                grads[key] = grads[key] + self.weight_decay * params[key]
        self.optimizer.update(params, grads)


def cosine_rate(epoch, epochs, start, end):
    """The learning rate of epoch (0-based) on a cosine from start (epoch 0) to end (last epoch)."""
    import math
    return end + 0.5 * (start - end) * (1 + math.cos(math.pi * epoch / max(1, epochs - 1)))


def challenge(config=None, verbose=True):
    """Trains the challenge configuration; returns dict with test_error per epoch, seconds."""
    from autograder.reference import Adam
    config = {**CHALLENGE, **(config or {})}
    (x_train, y_train), (x_test, y_test) = load_data()
    network = ThreeLayerNet(784, config["hidden_size"], 10, weight_init_std=config["weight_init_std"])
    adam = Adam(config["learning_rate"])
    optimizer = WeightDecay(adam, config["weight_decay"]) if config["weight_decay"] else adam
    import numpy as np
    batch = config["batch_size"]
    errors, started = [], time.perf_counter()
    for epoch in range(config["epochs"]):
        adam.learning_rate = cosine_rate(epoch, config["epochs"], config["learning_rate"],
                                         config["final_learning_rate"])
        order = np.random.default_rng(config["seed"] + epoch).permutation(x_train.shape[0])
        for start in range(0, len(order) - batch + 1, batch):  # each training row once per epoch
            rows = order[start:start + batch]
            optimizer.update(network.params, network.gradient(x_train[rows], y_train[rows]))
        errors.append(1 - network.accuracy(x_test, y_test))
        if verbose:
            print(f"epoch {epoch + 1:>2}  lr {adam.learning_rate:.2e}  test error {100 * errors[-1]:.2f} %"
                  f"  ({time.perf_counter() - started:.0f} s)", flush=True)
    return {"config": config, "test_error": errors, "seconds": time.perf_counter() - started}


def challenge_report(result):
    config, error = result["config"], result["test_error"][-1]
    verdict = "reached" if error <= CHALLENGE_TARGET else "NOT reached"
    return (f"# The challenge: test error <= {100 * CHALLENGE_TARGET:.1f} %\n\n"
            f"Configuration: 784-{config['hidden_size']}-{config['hidden_size']}-10, weight_init_std "
            f"{config['weight_init_std']}, Adam lr {config['learning_rate']} -> {config['final_learning_rate']} "
            f"(cosine, per epoch), weight decay {config['weight_decay']}, batch {config['batch_size']}, "
            f"{config['epochs']} epochs.\n\n"
            f"Test error after the last epoch: **{100 * error:.2f} %** ({verdict}); "
            f"best epoch {100 * min(result['test_error']):.2f} %. Wall time {result['seconds']:.0f} s.\n")


# --- the full Run All of the notebook --------------------------------------------------

HIDDEN_TESTS = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[^\n]*\n?", re.S | re.M)
LAYER_SIZES = (784, 300, 300, 10)


def step_flops(batch=100, sizes=LAYER_SIZES, input_gradient=False):
    """Multiply-add FLOPs of one training step: the forward products, dW of every layer, dx
    of every layer but the first (and of the first too if input_gradient)."""
    products = [a * b for a, b in zip(sizes, sizes[1:])]
    backward = 2 * sum(products) - (0 if input_gradient else products[0])
    return 2 * batch * (sum(products) + backward)


def forward_flops(rows, sizes=LAYER_SIZES):
    return 2 * rows * sum(a * b for a, b in zip(sizes, sizes[1:]))


def run_all_flops(runs=8, iters=10000, batch=100, evals_per_run=17, eval_rows=20000,
                  final_rows=10000 * (8 + 7 + 1), overfit_iters=400, input_gradient=False):
    # final_rows: run's print after each training, the bar chart of seven, the misclassified digits
    """FLOPs of the notebook's Run All: runs trainings (steps and per-epoch evaluations), the
    final accuracies (run's print, the bar chart, the misclassified digits), the overfitting check."""
    training = runs * (iters * step_flops(batch, input_gradient=input_gradient)
                       + evals_per_run * forward_flops(eval_rows))
    overfit = overfit_iters * (step_flops(50, input_gradient=input_gradient) + forward_flops(100))
    return training + forward_flops(final_rows) + overfit


def peak_flop_rate(threads, size=2048, repeats=5):
    """FLOP/s of a size^3 float32 matrix product with threads BLAS threads (None: BLAS default)."""
    import numpy as np
    from threadpoolctl import threadpool_limits
    a = np.random.default_rng(0).random((size, size), dtype=np.float32)
    with threadpool_limits(limits=threads, user_api="blas"):
        a @ a
        best = min(_timed(lambda: a @ a) for _ in range(repeats))
    return 2 * size ** 3 / best


def _timed(action):
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def solution_notebook(path):
    """The notebook at path with its hidden tests removed (nothing of the autograder runs)."""
    import nbformat
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.source = HIDDEN_TESTS.sub("", cell.source)
    return notebook


def run_all(notebook_path, blas_threads="1", workdir=None):
    """Executes the notebook top to bottom in a fresh kernel, in a copy of its folder, with
    MLP_BLAS_THREADS=blas_threads ("default" leaves BLAS alone); returns (wall seconds, the
    executed notebook, CPU seconds of the kernel: on a busy machine the wall time also counts
    the time other programs had the cores)."""
    from nbclient import NotebookClient
    notebook_path = Path(notebook_path)
    workdir = Path(workdir or tempfile.mkdtemp(prefix="runall-"))
    folder = workdir / notebook_path.parent.name
    shutil.copytree(notebook_path.parent, folder, dirs_exist_ok=True)
    notebook = solution_notebook(notebook_path)
    env = {key: value for key, value in os.environ.items()
           if key not in ("NBGRADER_EXECUTION", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    if blas_threads != "default":  # also for a notebook that does not limit the threads itself
        env.update(OPENBLAS_NUM_THREADS=blas_threads, OMP_NUM_THREADS=blas_threads, MKL_NUM_THREADS=blas_threads)
    env.update(MLP_BLAS_THREADS=blas_threads, MNIST_DATA=str(Path(__file__).resolve().parents[1] / "data" / "mnist"),
               MPLBACKEND="Agg")
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)  # the kernel inherits this process's environment
    import psutil
    cpu = {}

    def kernel_started(**_):
        cpu["process"] = psutil.Process(client.km.provisioner.process.pid)

    def cell_executed(**_):  # the kernel's CPU time so far (it is gone when the notebook completes)
        times = cpu["process"].cpu_times()
        cpu["seconds"] = times.user + times.system

    try:
        client = NotebookClient(notebook, timeout=3600, kernel_name="python3",
                                resources={"metadata": {"path": str(folder)}},
                                on_notebook_start=kernel_started, on_cell_executed=cell_executed)
        started = time.perf_counter()
        client.execute()
        seconds = time.perf_counter() - started
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return seconds, notebook, cpu.get("seconds")


def notebook_namespace(notebook_path):
    """The notebook's functions and classes (its solution cells included), defined by running
    its cells that hold only imports, defs and classes."""
    import ast
    import nbformat
    namespace = {}
    for cell in solution_notebook(notebook_path).cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:  # IPython magics: the import cell
            tree = ast.parse("\n".join(line for line in cell.source.splitlines() if not line.startswith("%")))
        kept = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef))
                and not (isinstance(node, ast.ImportFrom) and node.module in ("utils",))
                and not (isinstance(node, ast.Import) and any(a.name == "public_tests" for a in node.names))]
        exec(compile(ast.Module(body=kept, type_ignores=[]), str(notebook_path), "exec"), namespace)
    return namespace


def step_ratios(notebook_path, steps=50, rounds=9, threads=1):
    """{optimizer: (ms per training step of the notebook's code, ms of the step's matrix products
    alone, ratio)} with threads BLAS threads. The two are timed in alternation, so a busy machine
    slows both alike; the ratio is how far the notebook's step is from its FLOP limit."""
    import statistics
    import numpy as np
    from threadpoolctl import threadpool_limits
    namespace = notebook_namespace(notebook_path)
    (x_train, y_train), _ = load_data()
    batches = [np.random.default_rng(i).integers(0, len(x_train), 100) for i in range(steps)]
    batches = [(x_train[rows], y_train[rows]) for rows in batches]
    rng = np.random.default_rng(0)
    shapes = [(784, 300), (300, 300), (300, 10)]
    W = [rng.random(shape, dtype=np.float32) for shape in shapes]
    x, h, out = batches[0][0], rng.random((100, 300), dtype=np.float32), rng.random((100, 10), dtype=np.float32)

    def products():
        for _ in range(steps):
            x @ W[0], h @ W[1], h @ W[2]                      # forward
            out @ W[2].T, h.T @ out, h @ W[1].T, h.T @ h, x.T @ h  # dx3, dW3, dx2, dW2, dW1

    results = {}
    with threadpool_limits(limits=threads, user_api="blas"):
        for name in ("SGD", "AdaGrad", "RMSprop", "Momentum", "Nesterov", "Adam", "AdaBelief"):
            network = namespace["ThreeLayerNet"](784, 300, 10)
            optimizer = namespace[name](0.1 if name == "SGD" else 0.001)

            def train():
                for xb, yb in batches:
                    optimizer.update(network.params, network.gradient(xb, yb))

            train()
            notebook_times, product_times = [], []
            for _ in range(rounds):
                notebook_times.append(_timed(train) / steps)
                product_times.append(_timed(products) / steps)
            step, gemm = statistics.median(notebook_times), statistics.median(product_times)
            results[name] = (1e3 * step, 1e3 * gemm, step / gemm)
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schedule", choices=SCHEDULES, default="full",
                        help="full: the original's 10000 iterations; short: 1200 (about two epochs)")
    parser.add_argument("--out", type=Path, default=Path("results"))
    parser.add_argument("--verbose", action="store_true", help="print each epoch's accuracies")
    parser.add_argument("--challenge", action="store_true", help="train the challenge configuration")
    parser.add_argument("--run-all", action="store_true", help="time the notebook's Run All")
    parser.add_argument("--notebook", type=Path, help="--run-all: the notebook (default: the source)")
    parser.add_argument("--blas-threads", default="1", help="--run-all: BLAS threads, or 'default'")
    parser.add_argument("--step-ratios", action="store_true",
                        help="time one training step of the notebook's code against its matrix products alone")
    parser.add_argument("--old-step", action="store_true",
                        help="--run-all: count the first layer's input gradient (the notebook before it was skipped)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.challenge:
        result = challenge()
        (args.out / "results.md").write_text(challenge_report(result))
        (args.out / "results.json").write_text(json.dumps(result))
        print(challenge_report(result))
        return
    if args.step_ratios:
        from autograder.course import SOURCE_DIR
        notebook = args.notebook or SOURCE_DIR / "mlp_optimizers.ipynb"
        threads = None if args.blas_threads == "default" else int(args.blas_threads)
        for name, (step, gemm, ratio) in step_ratios(notebook, threads=threads).items():
            print(f"{name:<10} step {step:.2f} ms, matrix products {gemm:.2f} ms, ratio {ratio:.2f}")
        return
    if args.run_all:
        from autograder.course import SOURCE_DIR
        notebook = args.notebook or SOURCE_DIR / "mlp_optimizers.ipynb"
        threads = None if args.blas_threads == "default" else int(args.blas_threads)
        peak_before = peak_flop_rate(threads)
        seconds, executed, cpu_seconds = run_all(notebook, args.blas_threads)
        peak = max(peak_before, peak_flop_rate(threads))
        code = [cell.source for cell in executed.cells if cell.cell_type == "code"]
        runs = sum(1 for source in code if re.match(r"^run\(", source.strip()))
        overfit = any("check_overfit" in source for source in code)
        flops = run_all_flops(runs=runs, final_rows=10000 * (runs + 7 + 1), overfit_iters=400 if overfit else 0,
                              input_gradient=args.old_step)
        limit = flops / peak
        import nbformat
        nbformat.write(executed, args.out / "run_all.ipynb")
        print(f"Run All of {notebook}: {seconds:.1f} s with BLAS threads = {args.blas_threads}; "
              f"{runs} training runs, {flops / 1e12:.2f} TFLOP of matrix products; "
              f"peak {peak / 1e9:.0f} GFLOP/s -> FLOP limit {limit:.1f} s; ratio {seconds / limit:.2f}; "
              f"kernel CPU time {cpu_seconds or float('nan'):.1f} s; load average {os.getloadavg()[0]:.1f}")
        return
    iters_num = SCHEDULES[args.schedule]
    print(f"Training 7 optimizers, {iters_num} iterations each, batch 100", flush=True)
    results = run(iters_num, verbose=args.verbose)
    (args.out / "results.md").write_text(table(results))
    (args.out / "results.json").write_text(json.dumps(
        {name: {"seconds": seconds, **history} for name, (history, seconds) in results.items()}))
    load_utils().plot_histories({name: h for name, (h, _) in results.items()},
                                path=args.out / "comparison.png")
    print(table(results))
    print(f"Wrote {args.out / 'results.md'}, {args.out / 'results.json'}, {args.out / 'comparison.png'}")


if __name__ == "__main__":
    main()
