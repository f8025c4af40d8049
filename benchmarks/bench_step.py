"""Time one training step of the reference network, and of PyTorch when it is installed.

"The reference" here is its speed-tuned version, benchmarks/tuned.py (same values,
checked against autograder.reference before anything is timed).

One step = gradient on a batch of 100 MNIST rows + an optimizer update (SGD, Adam),
for the 784-300-300-10 network, in float32 and float64. The reference and torch run
in the same process with the same number of threads (OMP_NUM_THREADS if set, else one
per available core; numpy's BLAS and torch's intra-op pool both get that number and
both counts are printed). Rounds alternate between the two and the median round is
reported, with the range of the per-round ratios. Also times a full 10000-iteration
SGD run and the share of its per-epoch evaluations.

    make bench                  # or: .venv/bin/python benchmarks/bench_step.py
    pip install '.[bench]'      # adds torch for the comparison
"""
import argparse
import ctypes
import os
import statistics
import time

# The BLAS behind numpy reads its thread count when numpy is loaded: set it first.
THREADS = int(os.environ.get("OMP_NUM_THREADS") or len(os.sched_getaffinity(0)))
os.environ["OPENBLAS_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(THREADS)

import numpy as np  # noqa: E402

from autograder.course import load_data  # noqa: E402
from autograder.reference import train_network  # noqa: E402
from tuned import SGD, Adam, ThreeLayerNet, check_agreement  # noqa: E402

BATCH = 100


def numpy_blas_threads():
    """(library, threads) of the BLAS numpy calls, as the library itself reports it."""
    try:
        from threadpoolctl import threadpool_info
        for pool in threadpool_info():
            if pool["user_api"] == "blas":
                return pool["internal_api"], pool["num_threads"]
    except ImportError:  # threadpoolctl is optional: ask OpenBLAS directly
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
        for path in paths:
            library = ctypes.CDLL(path)
            for symbol in ("scipy_openblas_get_num_threads64_", "openblas_get_num_threads64_",
                           "openblas_get_num_threads"):
                if hasattr(library, symbol):
                    return "openblas", getattr(library, symbol)()
    return "unknown BLAS", None


def batches(x, y, count, seed=0):
    rows = np.random.default_rng(seed).integers(0, x.shape[0], (count, BATCH))
    return [(x[r], y[r]) for r in rows]  # fancy indexing: C-contiguous copies


def reference_step(dtype, optimizer_name, data):
    network = ThreeLayerNet(784, 300, 10, dtype=dtype)
    optimizer = SGD(0.1) if optimizer_name == "SGD" else Adam()
    items = [(x.astype(dtype), y.astype(dtype)) for x, y in data]

    def step(i):
        x, y = items[i % len(items)]
        optimizer.update(network.params, network.gradient(x, y))
    return step


def torch_step(dtype, optimizer_name, data):
    import torch
    torch_dtype = torch.float32 if dtype == np.float32 else torch.float64
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 300), torch.nn.LeakyReLU(0.1),
        torch.nn.Linear(300, 300), torch.nn.LeakyReLU(0.1),
        torch.nn.Linear(300, 10)).to(torch_dtype)
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = (torch.optim.SGD(model.parameters(), lr=0.1) if optimizer_name == "SGD"
                 else torch.optim.Adam(model.parameters(), lr=0.001, eps=1e-7))
    items = [(torch.from_numpy(x.astype(dtype)), torch.from_numpy(y.argmax(axis=1))) for x, y in data]

    def step(i):
        x, y = items[i % len(items)]
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        optimizer.step()
    return step


def time_per_step(step, steps):
    for i in range(20):  # warm-up
        step(i)
    start = time.perf_counter()
    for i in range(steps):
        step(i)
    return (time.perf_counter() - start) / steps


def compare(data, steps, rounds, torch_available):
    print(f"\nOne training step, batch {BATCH}, 784-300-300-10 "
          f"(median of {rounds} alternating rounds x {steps} steps)")
    print(f"{'optimizer':<9} {'dtype':<8} {'reference ms':>13} {'torch ms':>9} "
          f"{'reference/torch':>16} {'per-round range':>16}")
    for optimizer_name in ("SGD", "Adam"):
        for dtype in (np.float32, np.float64):
            ref_times, torch_times = [], []
            ref = reference_step(dtype, optimizer_name, data)
            tor = torch_step(dtype, optimizer_name, data) if torch_available else None
            for _ in range(rounds):
                ref_times.append(time_per_step(ref, steps))
                if tor:
                    torch_times.append(time_per_step(tor, steps))
            r = statistics.median(ref_times) * 1e3
            row = f"{optimizer_name:<9} {np.dtype(dtype).name:<8} {r:>13.3f}"
            if tor:
                t = statistics.median(torch_times) * 1e3
                ratios = [a / b for a, b in zip(ref_times, torch_times)]
                spread = f"{min(ratios):.2f}-{max(ratios):.2f}"
                print(f"{row} {t:>9.3f} {r / t:>16.2f} {spread:>16}")
            else:
                print(f"{row} {'-':>9} {'-':>16} {'-':>16}")


def full_run(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    network = ThreeLayerNet(784, 300, 10)
    evaluation = 0.0
    accuracy = network.accuracy

    def timed_accuracy(x, y):
        nonlocal evaluation
        start = time.perf_counter()
        result = accuracy(x, y)
        evaluation += time.perf_counter() - start
        return result

    network.accuracy = timed_accuracy
    start = time.perf_counter()
    history = train_network(network, SGD(0.1), x_train, y_train, x_test, y_test,
                            iters_num=10000, verbose=False)
    total = time.perf_counter() - start
    print(f"\nFull run, SGD, 10000 iterations + {len(history['eval_iter'])} evaluations: "
          f"{total:.1f} s wall, evaluations {evaluation:.1f} s ({100 * evaluation / total:.1f}%), "
          f"final test accuracy {history['test_acc'][-1]:.4f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--no-full-run", action="store_true")
    args = parser.parse_args()
    blas, blas_threads = numpy_blas_threads()
    print(f"numpy {np.__version__}: {blas}, {blas_threads} threads")
    try:
        import torch
        torch_available = True
        torch.set_num_threads(THREADS)
        print(f"torch {torch.__version__}: {torch.get_num_threads()} intra-op threads")
    except ImportError:
        torch_available = False
        print("torch is not installed (pip install '.[bench]'): timing the reference alone")
    check_agreement()
    print("benchmarks/tuned.py agrees with autograder.reference")
    print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    mnist = load_data()
    compare(batches(*mnist[0], 50), args.steps, args.rounds, torch_available)
    if not args.no_full_run:
        full_run(mnist)
    print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
