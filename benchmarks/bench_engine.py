"""Engine overhead against a hand-written numpy floor, measured side by side in one process.

W1: a chain of 200 small ops cycling add, mul by a scalar, tanh, exp, forward + backward, on
shapes (1,) and (64,): microseconds per op. Diagnostics: what anomaly mode (off) and provenance
cost per op. Memory: RSS across 1,000 training steps (flat = no graph leak). W6: DOT source of
a 10,000-op graph. W4: chains of
10^4..10^6 ops (each in a fresh process): forward + backward seconds and peak RSS. Quote medians
and ratios, not single times.

    .venv/bin/python benchmarks/bench_engine.py [--repeats 15] [--out benchmarks/RESULTS.md]
"""

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

import autograd_lite as ag

CHAIN = 200


def w1_autograd_lite(x0):
    x = ag.Tensor(x0, requires_grad=True)
    y = x
    for i in range(CHAIN):
        k = i % 4
        y = y + 1.0 if k == 0 else y * 0.5 if k == 1 else ag.tanh(y) if k == 2 else ag.exp(y)
    y.sum().backward()
    return x.grad.data


def w1_numpy(x0):
    """The same forward, then the backward written by hand: the floor."""
    y = x0
    saved = []
    for i in range(CHAIN):
        k = i % 4
        if k == 0:
            y = y + np.float32(1.0)
        elif k == 1:
            y = y * np.float32(0.5)
        elif k == 2:
            y = np.tanh(y)
        else:
            y = np.exp(y)
        saved.append(y)
    g = np.ones_like(y)
    for i in reversed(range(CHAIN)):
        k = i % 4
        if k == 1:
            g = g * np.float32(0.5)
        elif k == 2:
            g = g * (1 - saved[i] * saved[i])
        elif k == 3:
            g = g * saved[i]
    return g


def timed(fn, arg, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(arg)
        times.append(time.perf_counter() - start)
    return times


def diagnostics_cost(repeats):
    """Per-op cost of what every op pays for safety: the anomaly-mode flag test (anomaly off),
    the provenance capture (the user's file and line), and for contrast W1 with anomaly on."""
    from autograd_lite import engine

    x0 = np.ones(64, np.float32)
    base = statistics.median(timed(w1_autograd_lite, x0, repeats)) / CHAIN * 1e6

    def frame_capture():  # exactly what Op._watch does for provenance, from a user-level frame
        frame = engine.user_frame(sys._getframe(0))
        return (frame.f_code.co_filename, frame.f_lineno)

    n = 200_000
    start = time.perf_counter()
    for _ in range(n):
        if engine.anomaly_enabled:
            pass
    flag = (time.perf_counter() - start) / n * 1e6
    start = time.perf_counter()
    for _ in range(n):
        frame_capture()
    capture = (time.perf_counter() - start) / n * 1e6
    with ag.detect_anomaly():
        anomaly_on = statistics.median(timed(w1_autograd_lite, x0, repeats)) / CHAIN * 1e6
    return [
        f"| W1 (64,) µs/op, anomaly off (default) | {base:.2f} | - | 1.0x |",
        f"| anomaly flag test per op (off) | {flag:.3f} µs | - | {flag / base:.1%} of an op |",
        f"| provenance capture per op | {capture:.3f} µs | - | {capture / base:.1%} of an op |",
        f"| W1 (64,) µs/op, anomaly on | {anomaly_on:.2f} | - | {anomaly_on / base:.1f}x |",
    ]


def graph_drawing(repeats, n_ops=10_000):
    """W6: DOT source for a graph of 10,000 ops (values and gradients included)."""
    from autograd_lite import viz

    x = ag.tensor(np.ones(4, np.float32), requires_grad=True)
    y = x
    for i in range(n_ops):
        y = ag.tanh(y) if i % 2 else y * 0.5
    times = []
    for _ in range(max(3, repeats // 5)):
        start = time.perf_counter()
        source = viz.draw_graph(y, max_nodes=None).source
        times.append(time.perf_counter() - start)
    assert source.count('shape="ellipse"') == n_ops
    return [f"| W6 DOT source of a {n_ops:,}-op graph | {statistics.median(times):.2f} s "
            f"({min(times):.2f}-{max(times):.2f}) | - | - |"]


def current_rss_mib():
    """Resident memory now (Linux /proc; elsewhere the peak, which can only grow)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize() / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def training_memory(steps=1000):
    """RSS over a training loop (784-128-10 MLP, batch 64, SGD): must stay flat after warm-up."""
    rng = np.random.default_rng(0)
    x = ag.tensor(rng.standard_normal((64, 784)).astype(np.float32))
    labels = rng.integers(0, 10, 64)
    w1 = ag.Tensor(rng.standard_normal((784, 128)).astype(np.float32) * 0.05, requires_grad=True)
    w2 = ag.Tensor(rng.standard_normal((128, 10)).astype(np.float32) * 0.05, requires_grad=True)
    rss = {}
    for step in range(1, steps + 1):
        logp = ag.log_softmax(ag.relu(x @ w1) @ w2, axis=1)
        loss = -logp[np.arange(64), labels].mean()
        loss.backward()
        with ag.no_grad():
            for w in (w1, w2):
                w -= 0.01 * w.grad
                w.grad = None
        if step in (100, steps):
            rss[step] = current_rss_mib()
    return [f"| memory: {steps} training steps | RSS {rss[100]:.1f} MiB at step 100, "
            f"{rss[steps]:.1f} MiB at step {steps} (growth {rss[steps] - rss[100]:+.1f} MiB) "
            "| - | - |"]


def deep_chain(n):
    """Run in a fresh process: forward + backward through n ops; time and peak RSS."""
    code = f"""
import json, resource, time
import autograd_lite as ag
x = ag.tensor(1.0, requires_grad=True)
t0 = time.perf_counter()
y = x
for _ in range({n}):
    y = y * 1.0000001
t1 = time.perf_counter()
y.backward()
t2 = time.perf_counter()
print(json.dumps({{"forward": t1 - t0, "backward": t2 - t1,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--out", default=None, help="also write the table to this Markdown file")
    parser.add_argument("--max-depth", type=int, default=10**6)
    args = parser.parse_args()

    lines = ["| workload | autograd_lite median (min-max) | numpy floor median | ratio |",
             "| --- | --- | --- | --- |"]
    for shape in [(1,), (64,)]:
        x0 = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        np.testing.assert_allclose(w1_autograd_lite(x0), w1_numpy(x0), rtol=1e-4)
        ours = [t / CHAIN * 1e6 for t in timed(w1_autograd_lite, x0, args.repeats)]
        floor = [t / CHAIN * 1e6 for t in timed(w1_numpy, x0, args.repeats)]
        lines.append(f"| W1 {shape} µs/op | {statistics.median(ours):.2f} ({min(ours):.2f}-"
                     f"{max(ours):.2f}) | {statistics.median(floor):.2f} | "
                     f"{statistics.median(ours) / statistics.median(floor):.1f}x |")
    lines += diagnostics_cost(args.repeats)
    lines += training_memory()
    lines += graph_drawing(args.repeats)
    depth = 10**4
    while depth <= args.max_depth:
        r = deep_chain(depth)
        lines.append(f"| W4 chain of {depth:.0e} ops | forward {r['forward']:.2f} s, backward "
                     f"{r['backward']:.2f} s, peak {r['peak_mib']:.0f} MiB | - | - |")
        depth *= 10

    header = (f"numpy {np.__version__}, Python {platform.python_version()}, "
              f"{platform.machine()}, {args.repeats} repeats, peak RSS of the whole process "
              f"(start-up included: ~{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}"
              " MiB here)")
    table = "\n".join([header, ""] + lines)
    print(table)
    if args.out:
        with open(args.out, "w") as f:
            f.write("# Engine benchmark\n\nCommand: `.venv/bin/python benchmarks/bench_engine.py "
                    f"--out benchmarks/RESULTS.md`\n\n{table}\n")


if __name__ == "__main__":
    main()
