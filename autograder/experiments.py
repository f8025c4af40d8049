"""Train the seven optimizers of the course on MNIST and compare them.

    python -m autograder.experiments --schedule full --out results/reproduce

writes results.md (a table: final test accuracy of each optimizer beside the
original assignment's), results.json (every history) and comparison.png (training
loss and test accuracy per epoch, one line per optimizer).
"""
import argparse
import json
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schedule", choices=SCHEDULES, default="full",
                        help="full: the original's 10000 iterations; short: 1200 (about two epochs)")
    parser.add_argument("--out", type=Path, default=Path("results"))
    parser.add_argument("--verbose", action="store_true", help="print each epoch's accuracies")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
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
