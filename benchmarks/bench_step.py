"""Time one training step of the reference network, and of PyTorch when it is installed.

One step = gradient on a batch of 100 MNIST rows + an optimizer update, for the
784-300-300-10 network. The reference and torch run in the same process with the
same number of threads; rounds alternate between them and the median is reported.
Also times a full 10000-iteration SGD run with its per-epoch evaluations.

    make bench                  # or: .venv/bin/python benchmarks/bench_step.py
    pip install '.[bench]'      # adds torch for the comparison
"""
import argparse
import os
import statistics
import time

import numpy as np

from autograder.course import load_data
from autograder.reference import SGD, Adam, ThreeLayerNet, train_network

BATCH = 100


def batches(x, y, count, seed=0):
    rows = np.random.default_rng(seed).integers(0, x.shape[0], (count, BATCH))
    return [(x[r], y[r]) for r in rows]


def reference_step(dtype, optimizer_name, data):
    network = ThreeLayerNet(784, 300, 10, dtype=dtype)
    optimizer = SGD(0.1) if optimizer_name == "SGD" else Adam()
    items = [(x.astype(dtype), y) for x, y in data]

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
    print(f"\nOne training step, batch {BATCH}, 784-300-300-10 (median of {rounds} rounds x {steps} steps)")
    print(f"{'optimizer':<9} {'dtype':<8} {'reference ms':>13} {'torch ms':>9} {'reference/torch':>16}")
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
            if tor:
                t = statistics.median(torch_times) * 1e3
                print(f"{optimizer_name:<9} {np.dtype(dtype).name:<8} {r:>13.3f} {t:>9.3f} {r / t:>16.2f}")
            else:
                print(f"{optimizer_name:<9} {np.dtype(dtype).name:<8} {r:>13.3f} {'-':>9} {'-':>16}")


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
    train_network(network, SGD(0.1), x_train, y_train, x_test, y_test, iters_num=10000, verbose=False)
    total = time.perf_counter() - start
    print(f"\nFull run, SGD, 10000 iterations + 17 evaluations: {total:.1f} s wall, "
          f"evaluations {evaluation:.1f} s ({100 * evaluation / total:.1f}%)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--no-full-run", action="store_true")
    args = parser.parse_args()
    try:
        import torch
        torch_available = True
        threads = int(os.environ.get("OMP_NUM_THREADS", os.cpu_count()))
        torch.set_num_threads(threads)
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; numpy {np.__version__}")
    except ImportError:
        torch_available = False
        print("torch is not installed (pip install '.[bench]'): timing the reference alone")
    mnist = load_data()
    compare(batches(*mnist[0], 50), args.steps, args.rounds, torch_available)
    if not args.no_full_run:
        full_run(mnist)


if __name__ == "__main__":
    main()
