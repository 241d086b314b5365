"""The benchmark suite (issues 7, 13, 14 and 16): workloads W1-W9 on autograd_lite, on a
hand-written numpy implementation of the same math (forward plus manual backward: the floor),
and on the peers a user would pick instead, when installed (`.venv/bin/pip install -e
'.[bench]'`).

    .venv/bin/python benchmarks/run.py --out benchmarks/RESULTS.md    # everything, a few min
    .venv/bin/python benchmarks/run.py --quick                         # smoke run, seconds
    .venv/bin/python benchmarks/run.py --workloads W7,W8               # some workloads only

How it measures, and why:
- Each framework runs in its own fresh process (a child of this one) with the numpy floor timed
  alongside, taking turns round by round; its ratio is its median over the floor's median from
  that same process. The machines are shared and noisy: ratios and medians, never one time.
- Every workload checks the framework's gradients against the floor's before timing it.
- W4 (deep chains), W5 (memory) and the memory of W7/W8's steps get a fresh process per run,
  so a peak resident memory belongs to that framework alone.
- autograd_lite also runs W1-W4 and W8 with the step compiled by ``ag.compile`` (issue 14):
  rows named "..., compiled", in the same process as ours, timed on replays.
- W9 (issue 16) trains the W2 MLP data-parallel on 1 and 2 MPI ranks (w9_distributed.py
  launches its own mpiexec): samples per second and the scaling efficiency.
Nothing is pinned: thread counts and BLAS settings are recorded as found (see the header of the
results), since numpy's BLAS kernel can be chosen by the environment (OPENBLAS_CORETYPE).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import shlex
import subprocess
import sys
import time

import w9_distributed
from common import (
    BLAS_VARS,
    FRAMEWORKS,
    PEERS,
    THREAD_VARS,
    answer,
    child,
    environment,
    installed,
    label,
    progress,
    stats,
    version,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOISE_MIB = 2.0  # W5: resident memory moves by about this much with no leak at all
WORKLOADS = ["W1", "W2", "W3", "W4", "W5", "W6", "W7", "W8", "W9"]
# W7/W8 step memory (step_memory.py): the module, and its makers for each framework
STEP_MEMORY = {"W7": ("w7_cnn", {"numpy": ["numpy"], "autograd_lite": ["autograd_lite"],
                                 "torch": ["torch"]}),
               "W8": ("w8_lstm", {"numpy": ["numpy"],
                                  "autograd_lite": ["autograd_lite", "autograd_lite_fused"],
                                  "torch": ["torch"]})}


def worker(framework: str, quick: bool, workloads: list[str]) -> None:
    """In a child process: W1-W3, W7 and W8 for one framework (plus W6 and W1's diagnostics
    for ours), those of them selected."""
    import importlib

    modules = {"W1": "w1_per_op", "W2": "w2_mlp", "W3": "w3_logreg", "W7": "w7_cnn",
               "W8": "w8_lstm"}
    rows, diagnostics = [], []
    for workload, name in modules.items():
        if workload in workloads:
            progress(f"  {name} {framework}")
            rows += importlib.import_module(name).run(framework, quick)
    if framework == "autograd_lite" and "W1" in workloads:
        import w1_per_op

        progress("  diagnostics autograd_lite")
        diagnostics = w1_per_op.diagnostics(quick)
    if framework == "autograd_lite" and "W6" in workloads:
        import w6_dot

        progress("  w6_dot autograd_lite")
        rows += w6_dot.run(quick)
    answer({"rows": rows, "diagnostics": diagnostics, "env": environment()})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run of a few seconds: every check, few repeats")
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS[1:]),
                        help="comma-separated, from: " + ", ".join(FRAMEWORKS[1:]) +
                        " (the numpy floor always runs; missing peers are skipped)")
    parser.add_argument("--workloads", default=",".join(WORKLOADS),
                        help="comma-separated, from: " + ", ".join(WORKLOADS) + " (default: all)")
    parser.add_argument("--max-ops", type=float, default=1e6, help="W4's longest chain")
    parser.add_argument("--out", help="write the Markdown report to this file")
    parser.add_argument("--json", help="write the raw results to this file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    workloads = [w.strip().upper() for w in args.workloads.split(",") if w.strip()]
    if sorted(set(workloads) - set(WORKLOADS)) or not workloads:
        parser.error(f"unknown workloads {sorted(set(workloads) - set(WORKLOADS))}; choose "
                     f"from {WORKLOADS}")
    if args.worker:
        worker(args.worker, args.quick, workloads)
        return 0

    started = time.perf_counter()
    results = {"command": command(), "date": datetime.date.today().isoformat(),
               "commit": git_commit(), "quick": args.quick, "notes": [], "errors": [],
               "workloads": workloads, "rows": [], "diagnostics": [], "w4": [],
               "step_memory": [], "w9": [], "env": {}}
    wanted = [f.strip() for f in args.frameworks.split(",") if f.strip()]
    unknown = sorted(set(wanted) - set(FRAMEWORKS[1:]))
    if unknown:
        parser.error(f"unknown frameworks {unknown}; choose from {FRAMEWORKS[1:]}")
    frameworks = []
    for fw in FRAMEWORKS[1:]:
        if fw not in wanted:
            continue
        if installed(fw):
            frameworks.append(fw)
        else:
            results["notes"].append(f"{label(fw)} is not installed: skipped (`.venv/bin/pip "
                                    "install -e '.[bench]'` installs the peers)")
            progress(f"note: {label(fw)} is not installed, skipped")
    results["versions"] = {fw: version(fw) for fw in ["numpy"] + frameworks}

    in_worker = [w for w in workloads if w in ("W1", "W2", "W3", "W6", "W7", "W8")]
    for fw in frameworks if in_worker else []:  # one process per framework
        if fw != "autograd_lite" and in_worker == ["W6"]:
            continue  # W6 is ours alone
        progress(f"{','.join(in_worker)}: {label(fw)}")
        reply = child("run.py", "--worker", fw, "--workloads", ",".join(in_worker),
                      *(["--quick"] if args.quick else []))
        if "error" in reply:
            results["errors"].append(f"{','.join(in_worker)} on {label(fw)}: {reply['error']}")
            continue
        results["rows"] += reply["rows"]
        results["diagnostics"] += reply["diagnostics"]
        results["env"][fw] = reply["env"]

    # W4: a fresh process per framework and length; once a framework fails at one length
    # (micrograd's recursive backward), the longer chains are not tried
    lengths = [n for n in ([10**4] if args.quick else [10**4, 10**5, 10**6])
               if n <= args.max_ops and "W4" in workloads]
    failed = set()
    for n in lengths:
        # ours compiled too, up to 10^5 ops (tracing 10^6 would take minutes and gigabytes)
        compiled = ["autograd_lite_compiled"] if "autograd_lite" in frameworks and n <= 10**5 \
            else []
        for fw in ["numpy"] + frameworks + compiled:
            if fw in failed:
                continue
            repeats = 1 if args.quick or n >= 10**6 else 5 if n <= 10**4 else 3
            progress(f"W4: {n:,} ops, {label(fw)}")
            reply = child("w4_deep_chain.py", fw, n, repeats)
            results["w4"].append({"framework": fw, "ops": n, **reply})
            if "error" in reply:
                failed.add(fw)

    if "W5" in workloads:
        progress("W5: memory over training steps")
        results["w5"] = child("w5_memory.py", 60 if args.quick else 1000)

    # W7/W8: the memory of one training step, a fresh process per framework (and variant)
    for workload in [w for w in ("W7", "W8") if w in workloads]:
        module, makers = STEP_MEMORY[workload]
        for fw in ["numpy"] + frameworks:
            for name in makers.get(fw, []):
                progress(f"{workload} step memory: {name}")
                reply = child("step_memory.py", module, name, 1 if args.quick else 5)
                results["step_memory"].append({"workload": workload, "framework": fw,
                                               "maker": name, **reply})
    if "W9" in workloads:
        progress("W9: data-parallel W2 MLP on MPI")
        results["w9"] = w9_distributed.run(args.quick)
    results["seconds"] = time.perf_counter() - started
    if git_commit() != results["commit"]:  # another engineer committed or edited meanwhile
        results["notes"].append(f"**autograd_lite changed during this run** (from "
                                f"{results['commit']} to {git_commit()}): workloads measured "
                                "at different times may have run different code; run again.")

    report = markdown(results)
    print(report)
    if args.out:
        with open(args.out, "w") as f:
            f.write(report)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    problems = failures(results)
    for problem in problems:
        progress(f"FAILED: {problem}")
    return 1 if problems else 0


def command() -> str:
    """This run's command line, as typed from the repository root."""
    python = sys.executable
    if python.startswith(ROOT + os.sep):
        python = os.path.relpath(python, ROOT)
    return " ".join([python, "benchmarks/run.py"] + [shlex.quote(a) for a in sys.argv[1:]])


def git_commit() -> str:
    """The commit measured and, if the package had uncommitted changes, a digest of them (so
    that a change made during the run shows)."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=ROOT, text=True, capture_output=True,
                              check=True).stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        diff = git("diff", "HEAD", "--", "autograd_lite")
        untracked = git("ls-files", "--others", "--exclude-standard", "--", "autograd_lite")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    if not diff and not untracked:
        return head
    digest = hashlib.sha1((diff + untracked).encode()).hexdigest()[:8]
    return f"{head} with uncommitted changes in autograd_lite/ (diff {digest})"


def failures(results) -> list[str]:
    """Gradient checks that failed and processes that crashed. A RecursionError in W4 is a
    measured outcome (micrograd's recursive backward), not a failure of the suite."""
    out = list(results["errors"])
    out += [f"{r['workload']} on {label(r['framework'])}: {r['check']}"
            for r in results["rows"] if r["check"] != "ok"]
    for r in results["w4"]:
        if "error" in r and not r["error"].startswith("RecursionError"):
            out.append(f"W4 {r['ops']:,} ops on {label(r['framework'])}: {r['error']}")
        elif r.get("check", "ok") != "ok":
            out.append(f"W4 {r['ops']:,} ops on {label(r['framework'])}: {r['check']}")
    if "error" in results.get("w5", {}):
        out.append(f"W5: {results['w5']['error']}")
    out += [f"{r['workload']} step memory of {r['maker']}: {r['error']}"
            for r in results["step_memory"] if "error" in r]
    out += [f"W9 on {r['ranks']} rank(s): {r['check']}" for r in results.get("w9", [])
            if r["check"] != "ok"]
    return out


# ---------------------------------------------------------------------------------------------
# The Markdown report


def num(v: float) -> str:
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}" if v >= 0.1 \
        else f"{v:.3f}"


def find(results, workload: str, framework: str):
    return next((r for r in results["rows"]
                 if r["workload"] == workload and r["framework"] == framework), None)


def ratio_cell(row) -> str:
    if row is None:
        return "-"
    return f"{row['ratio']:.2f}x" if row["check"] == "ok" else "check failed"


def w4_row(results, n: int, framework: str):
    return next((r for r in results["w4"] if r["ops"] == n and r["framework"] == framework),
                None)


def w4_cell(r) -> str:
    if r is None:
        return "-"
    if "error" in r:
        return r["error"].split(" (")[0]
    ratio = stats(r["times"])["median"] / stats(r["floor"])["median"] if "floor" in r else 1.0
    return f"{ratio:.1f}x, {r['peak_mib']:.0f} MiB"


def markdown(results) -> str:
    frameworks = [fw for fw in FRAMEWORKS[1:] if fw in results["versions"]]
    lines = header(results)

    lines += ["", "## Ratios to the numpy floor", "",
              "Medians; each framework's over the floor's median measured in the same process."
              + (" W4: fwd+bwd time ratio, peak resident memory of the whole process."
                 if results["w4"] else ""), "",
              "| workload | " + " | ".join(f"{label(fw)} {results['versions'][fw]}"
                                           for fw in frameworks) + " |",
              "| --- |" + " --- |" * len(frameworks)]
    selected = results.get("workloads", WORKLOADS)
    for title, workload in [("W1 (64,) per op", "W1 (64,)"), ("W1 (1,) per op", "W1 (1,)"),
                            ("W1 (64,) per op, compiled", "W1 (64,), compiled"),
                            ("W1 (1,) per op, compiled", "W1 (1,), compiled"),
                            ("W2 MLP step", "W2 MLP step"),
                            ("W2 MLP step, compiled", "W2 MLP step, compiled"),
                            ("W3 logistic regression", "W3 logistic regression"),
                            ("W3 logistic regression, compiled",
                             "W3 logistic regression, compiled"),
                            ("W7 CNN step", "W7 CNN step"), ("W8 LSTM step", "W8 LSTM step"),
                            ("W8 LSTM step, fused=True", "W8 LSTM step, fused=True"),
                            ("W8 LSTM step, compiled", "W8 LSTM step, compiled"),
                            ("W8 LSTM step, fused=True, compiled",
                             "W8 LSTM step, fused=True, compiled")]:
        if workload.split()[0] not in selected or (workload.endswith("compiled")
                                                   and "autograd_lite" not in frameworks):
            continue
        cells = []
        for fw in frameworks:
            row = find(results, workload, fw)
            cells.append("scalar only" if row is None and fw == "micrograd" and "W1" in workload
                         else ratio_cell(row))
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    for n in sorted({r["ops"] for r in results["w4"]}):
        cells = [w4_cell(w4_row(results, n, fw)) for fw in frameworks]
        lines.append(f"| W4 {n:,}-op chain | " + " | ".join(cells) + " |")
        compiled = w4_row(results, n, "autograd_lite_compiled")
        if compiled is not None:  # ours compiled: its replays, in our column
            cells = [w4_cell(compiled) if fw == "autograd_lite" else "-" for fw in frameworks]
            lines.append(f"| W4 {n:,}-op chain, compiled (replays) | " + " | ".join(cells)
                         + " |")

    lines += targets(results, frameworks)
    if results.get("w9"):
        lines += w9_distributed.markdown(results["w9"])
    lines += details(results)
    lines += ["", "## Notes", ""] + [f"- {note}" for note in notes(results, frameworks)]
    return "\n".join(lines) + "\n"


def header(results) -> list[str]:
    minutes, seconds = divmod(round(results["seconds"]), 60)
    env = results["env"].get("autograd_lite") or next(iter(results["env"].values()), None)
    lines = ["# Benchmark results", "",
             f"Command: `{results['command']}`", "",
             f"Run on {results['date']} in {minutes} min {seconds} s, autograd_lite at commit "
             f"{results['commit']}." + (" **Quick smoke run: few repeats, not for quoting.**"
                                        if results["quick"] else "")]
    if env is None:
        return lines
    versions = ", ".join(f"{label(fw).replace(' floor', '')} {v}"
                         for fw, v in results["versions"].items())
    lines += ["", f"- Machine: {env['cpu']}, {env['cores']} cores, {env['machine']}; Python "
              f"{env['python']}; {versions}."]
    unset = [k for k in THREAD_VARS if env["vars"][k] is None]
    given = [f"{k}={env['vars'][k]}" for k in THREAD_VARS if env["vars"][k] is not None]
    lines.append("- Thread settings: " + ", ".join(given + ([", ".join(unset) + " not set"]
                                                          if unset else [])) + ".")
    pools = env["pools"]
    if pools is None:
        lines.append("- numpy's BLAS: unknown (threadpoolctl is not installed).")
    else:
        for pool in pools:
            if pool["library"].startswith("numpy"):
                lines.append(f"- numpy's BLAS (threadpoolctl): {pool['internal_api']} "
                             f"{pool['version']}, kernel {pool['architecture']}, "
                             f"{pool['num_threads']} threads ({pool['threading_layer']}), "
                             f"`{pool['library']}`.")
    blas = [f"{k}={env['vars'][k]}" for k in BLAS_VARS if env["vars"][k] is not None]
    if blas:
        lines.append(f"- **{' and '.join(blas)} set**: numpy's BLAS runs the kernel named above "
                     "rather than the one it would pick for this CPU, which can slow W2 and W3. "
                     "Ratios between numpy-based frameworks stay fair; torch (its own BLAS) is "
                     "unaffected. To measure the fastest kernel, unset both in the command "
                     "alone: `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ...`.")
    else:
        lines.append("- OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are not set: numpy's BLAS picks "
                     "its kernel for this CPU itself.")
    torch_env = results["env"].get("torch", {}).get("torch")
    if torch_env:
        lines.append(f"- torch: BLAS {torch_env['blas']}, {torch_env['intra_op_threads']} "
                     f"intra-op and {torch_env['interop_threads']} inter-op threads.")
    return lines


def versus_torch(results, workload: str):
    """autograd_lite's time over torch's on a workload: their ratios to the floor divided (each
    measured in its own process, alongside the floor: the suite's way to cancel the machine's
    drift between processes), and their medians divided. None if either is missing. A variant
    of ours ("W8 LSTM step, fused=True") is compared with torch's plain workload."""
    ours = find(results, workload, "autograd_lite")
    theirs = find(results, workload.split(",")[0], "torch")  # a variant of ours vs torch's
    if ours is None or theirs is None or ours["check"] != "ok" or theirs["check"] != "ok":
        return None
    return ours["ratio"] / theirs["ratio"], ours["median"] / theirs["median"]


def targets(results, frameworks) -> list[str]:
    """Issues 7, 13 and 14's targets for autograd_lite, each met or missed; those of the
    workloads run (issue 14's, on ``ag.compile``, when autograd_lite ran)."""
    peers = [fw for fw in frameworks if fw in PEERS]
    selected = results.get("workloads", WORKLOADS)
    lines = ["", "## Targets (issues 7, 13 and 14)", "", "| target | autograd_lite | verdict |",
             "| --- | --- | --- |"]

    def verdict(ok):
        return "met" if ok else "**missed**"

    def ratio_target(title, workload, limit, ahead_of_peers):
        row = find(results, workload, "autograd_lite")
        if row is None or row["check"] != "ok":
            lines.append(f"| {title} | not measured | **missed** |")
            return
        ok, text = row["ratio"] <= limit, f"{row['ratio']:.2f}x"
        if ahead_of_peers:
            theirs = [(r["ratio"], fw) for fw in peers
                      if (r := find(results, workload, fw)) and r["check"] == "ok"]
            if theirs:
                best, fw = min(theirs)
                text += f" (best peer: {label(fw)} {best:.2f}x)"
                ok = ok and row["ratio"] < best
            else:
                text += " (no peer measured)"
        lines.append(f"| {title} | {text} | {verdict(ok)} |")

    if "W1" in selected:
        ratio_target("W1 (64,) <= 2.5x", "W1 (64,)", 2.5, False)
        ratio_target("W1 (1,) <= 2.5x", "W1 (1,)", 2.5, False)
    if "W2" in selected:
        ratio_target("W2 <= 1.1x, ahead of every peer", "W2 MLP step", 1.1, True)
    if "W3" in selected:
        ratio_target("W3 <= 1.5x, ahead of every peer", "W3 logistic regression", 1.5, True)
    if "W4" in selected:
        lines += w4_targets(results, verdict)
    if "W5" in selected:
        w5 = results["w5"]
        if "error" in w5:
            lines.append(f"| W5 no RSS growth after warm-up | {w5['error']} | **missed** |")
        else:
            lines.append(f"| W5 no RSS growth after warm-up (noise: {NOISE_MIB:.0f} MiB) | "
                         f"{w5['growth_mib']:+.1f} MiB from step {w5['warmup_step']} to "
                         f"{w5['steps']} | {verdict(w5['growth_mib'] <= NOISE_MIB)} |")
    for workload, title in [("W7 CNN step", "W7 CNN step <= 2.0x PyTorch's time"),
                            ("W8 LSTM step", "W8 LSTM step <= 2.0x PyTorch's time")]:
        if workload.split()[0] not in selected:
            continue
        both = versus_torch(results, workload)
        if both is None:
            lines.append(f"| {title} | not measured (needs autograd_lite and torch, both "
                         "checked) | **missed** |")
            continue
        text = f"{both[0]:.2f}x (medians alone: {both[1]:.2f}x)"
        fused = versus_torch(results, workload + ", fused=True")
        if fused is not None:
            text += f"; with fused=True: {fused[0]:.2f}x"
        lines.append(f"| {title} | {text} | {verdict(both[0] <= 2.0)} |")
    if "autograd_lite" in frameworks:
        lines += compiled_targets(results, selected, verdict, ratio_target)
    return lines


def speedup(results, eager: str, compiled: str):
    """How many times faster ours runs a workload compiled than eagerly: the two ratios to the
    floor divided (each measured alongside the floor, in one process), and the medians
    divided. None if either row is missing or failed its check."""
    slow, fast = find(results, eager, "autograd_lite"), find(results, compiled, "autograd_lite")
    if slow is None or fast is None or slow["check"] != "ok" or fast["check"] != "ok":
        return None
    return slow["ratio"] / fast["ratio"], slow["median"] / fast["median"]


def compiled_targets(results, selected, verdict, ratio_target) -> list[str]:
    """Issue 14's targets: ours with the step compiled by ``ag.compile``."""
    lines = []
    if "W1" in selected:
        ratio_target("W1 (64,) compiled <= 1.3x", "W1 (64,), compiled", 1.3, False)
        ratio_target("W1 (1,) compiled <= 1.3x", "W1 (1,), compiled", 1.3, False)
    if "W2" in selected:
        ratio_target("W2 compiled <= 1.0x", "W2 MLP step, compiled", 1.0, False)
        row = find(results, "W2 MLP step, compiled", "autograd_lite")
        guard = None if row is None else row.get("guard_us")
        lines.append("| W2 compiled: the guard check <= 5 µs per call | "
                     + ("not measured | **missed** |" if guard is None else
                        f"{guard:.2f} µs | {verdict(guard <= 5.0)} |"))
    if "W3" in selected:
        ratio_target("W3 compiled <= 1.0x", "W3 logistic regression, compiled", 1.0, False)
    if "W8" in selected:
        title = "W8 compiled >= 3x faster than eager (default path)"
        both = speedup(results, "W8 LSTM step", "W8 LSTM step, compiled")
        if both is None:
            lines.append(f"| {title} | not measured (needs both rows, checked) | **missed** |")
        else:
            text = f"{both[0]:.2f}x faster (medians alone: {both[1]:.2f}x)"
            fused = speedup(results, "W8 LSTM step, fused=True",
                            "W8 LSTM step, fused=True, compiled")
            if fused is not None:
                text += f"; fused=True: {fused[0]:.2f}x faster ({fused[1]:.2f}x)"
            lines.append(f"| {title} | {text} | {verdict(both[0] >= 3.0)} |")
    if "W4" in selected:
        row = w4_row(results, 10**5, "autograd_lite_compiled")
        if row is None:
            lines.append("| W4 10^5 compiled: tracing + first replay <= 3x one eager step; "
                         "replays <= 1.5x the floor | not run (--max-ops or --quick) | - |")
        elif "error" in row or row.get("check") != "ok":
            text = row.get("error", row.get("check"))
            lines.append(f"| W4 10^5 compiled | {text} | **missed** |")
        else:
            eager = stats(row["eager"])["median"]
            first = row["trace_s"] + row["first_replay_s"]
            lines.append(f"| W4 10^5 compiled: tracing + first replay <= 3x one eager step | "
                         f"{first / eager:.1f}x ({row['trace_s']:.2f} s + "
                         f"{row['first_replay_s']:.3f} s against {eager:.2f} s) | "
                         f"{verdict(first <= 3 * eager)} |")
            ratio = stats(row["times"])["median"] / stats(row["floor"])["median"]
            lines.append(f"| W4 10^5 compiled: replays <= 1.5x the floor | {ratio:.2f}x | "
                         f"{verdict(ratio <= 1.5)} |")
    return lines


def w4_targets(results, verdict) -> list[str]:
    lines = []
    longest = w4_row(results, 10**6, "autograd_lite")
    if longest is None:
        lines.append("| W4 10^6 ops complete | not run (--max-ops or --quick) | - |")
    else:
        done = "error" not in longest and longest.get("check") == "ok"
        text = (f"{longest['times'][0]:.1f} s, {longest['peak_mib']:.0f} MiB peak" if done
                else longest.get("error", longest.get("check")))
        lines.append(f"| W4 10^6 ops complete | {text} | {verdict(done)} |")
    mid = w4_row(results, 10**5, "autograd_lite")
    if mid is None or "error" in mid:
        lines.append("| W4 10^5 ops <= 4x the floor, <= 150 MiB peak | not run | - |")
    else:
        ratio = stats(mid["times"])["median"] / stats(mid["floor"])["median"]
        lines.append(f"| W4 10^5 ops <= 4x the floor | {ratio:.1f}x | {verdict(ratio <= 4)} |")
        lines.append(f"| W4 10^5 ops <= 150 MiB peak | {mid['peak_mib']:.0f} MiB | "
                     f"{verdict(mid['peak_mib'] <= 150)} |")
    return lines


def details(results) -> list[str]:
    lines = ["", "## W1-W3, W6-W8: times", "",
             "Median, min and max over rounds, taking turns with the floor (a full run: W1 15 "
             "rounds of 20 chains; W2 10 rounds of 10 steps after 10 warm-up steps; W3 7 "
             "rounds of one fit; W6 5 drawings; W7 and W8 10 rounds of 5 steps after 5 "
             "warm-up steps).", "",
             "| workload | framework | unit | median | min | max | runs | floor median, same "
             "process | ratio | gradients vs floor |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in results["rows"]:
        if r["check"] != "ok" and "median" not in r:
            lines.append(f"| {r['workload']} | {label(r['framework'])} | {r['unit']} | - | - "
                         f"| - | - | - | - | {r['check']} |")
            continue
        floor = num(r["floor"]) if "floor" in r else "-"
        ratio = f"{r['ratio']:.2f}x" if "ratio" in r else "-"
        lines.append(f"| {r['workload']} | {label(r['framework'])} | {r['unit']} | "
                     f"{num(r['median'])} | {num(r['min'])} | {num(r['max'])} | {r['runs']} | "
                     f"{floor} | {ratio} | {r['check']} |")

    lines += step_details(results)
    if not results["w4"]:
        return lines + w5_details(results) + diagnostics_details(results)
    lines += ["", "## W4: deep chains (a fresh process each)", "",
              "W1's op cycle on shape (1,). Peak: resident memory of the whole process; graph: "
              "the peak less the memory after imports and a first tiny chain.", "",
              "| ops | framework | fwd+bwd s, median (min-max) | runs | peak MiB | graph MiB | "
              "floor s, same process | ratio | gradients vs floor |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in results["w4"]:
        name = f"| {r['ops']:,} | {label(r['framework'])} |"
        if "times" not in r:
            lines.append(f"{name} {r['error']} | - | - | - | - | - | - |")
            continue
        t = stats(r["times"])
        floor = stats(r["floor"])["median"] if "floor" in r else t["median"]
        if "trace_s" in r:
            name = name.replace(label(r["framework"]), label(r["framework"]) + " (replays)")
        lines.append(f"{name} {num(t['median'])} ({num(t['min'])}-{num(t['max'])}) | "
                     f"{t['runs']} | {r['peak_mib']:.0f} | {r['peak_mib'] - r['baseline_mib']:.0f}"
                     f" | {num(floor)} | {t['median'] / floor:.1f}x | {r.get('check', '-')} |")
    compiled = [r for r in results["w4"] if "trace_s" in r]
    if compiled:
        lines += ["", "autograd_lite compiled (`ag.compile`, same process as its replays above): "
                  "the first call traces (runs the chain eagerly, recording it, and builds the "
                  "program), the second is the first replay; one eager step of ours (median) "
                  "measured next in that process. Its peak memory above includes the trace.", "",
                  "| ops | tracing s | first replay s | tracing + first replay | one eager step "
                  "s | (tracing + first replay) / eager step |", "| --- | --- | --- | --- | --- "
                  "| --- |"]
        for r in compiled:
            eager, first = stats(r["eager"])["median"], r["trace_s"] + r["first_replay_s"]
            lines.append(f"| {r['ops']:,} | {num(r['trace_s'])} | {num(r['first_replay_s'])} | "
                         f"{num(first)} | {num(eager)} | {first / eager:.1f}x |")

    return lines + w5_details(results) + diagnostics_details(results)


def step_details(results) -> list[str]:
    """W7 and W8: each framework's time and the memory of its step, side by side."""
    lines = []
    for workload, title in [("W7", "W7 CNN step"), ("W8", "W8 LSTM step")]:
        rows = [r for r in results["rows"] if r["workload"].startswith(title)]
        memory = [m for m in results["step_memory"] if m["workload"] == workload]
        if not rows and not memory:
            continue
        if not lines:
            lines += ["", "## W7, W8: training steps next to PyTorch, time and memory", "",
                      "Time: medians (ms/step). vs torch: the framework's ratio to the floor "
                      "over torch's (each measured alongside the floor in its own process); "
                      "the medians' quotient in brackets. Memory (a fresh process per row, "
                      "`step_memory.py`): the peak resident memory during steps after a "
                      "warm-up step, less the resident memory after it (so imports, data, "
                      "weights and gradient buffers are out); tracemalloc's count of the same "
                      "for the numpy-based frameworks (torch's allocations are invisible to "
                      "it). The baseline is the resident memory after the warm-up step.", "",
                      "| workload | framework | ms/step | floor ms/step, same process | ratio "
                      "to floor | vs torch | step memory, RSS MiB | step memory, tracemalloc "
                      "MiB | baseline RSS MiB |",
                      "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        floors = ", ".join(f"{num(r['floor'])} (with {label(r['framework'])})" for r in rows
                           if "floor" in r and r["workload"] == title)
        makers = [("numpy", "numpy", "", None)]
        for r in rows:
            variant = r["workload"][len(title):]  # "", ", fused=True", ", compiled", ...
            maker = r["framework"] + "".join(f"_{v}" for v in ("fused", "compiled")
                                             if v in variant)
            makers.append((r["framework"], maker, variant, r))
        for fw, maker, variant, r in makers:
            m = next((m for m in memory if m["maker"] == maker), None)
            name = label(fw) + variant
            if m is None:
                mem = ["-", "-", "-"]
            elif "error" in m:
                mem = [m["error"], "-", "-"]
            else:
                mem = [f"{m['step_mib']:.1f}", f"{m['tracemalloc_mib']:.1f}"
                       if "tracemalloc_mib" in m else "-", f"{m['baseline_mib']:.0f}"]
            if r is None:
                time_cells = [floors or "-", "-", "1.00x", "-"]
            elif "median" not in r:
                time_cells = [r["check"], "-", "-", "-"]
            else:
                both = versus_torch(results, r["workload"]) if fw == "autograd_lite" else None
                vs = f"{both[0]:.2f}x ({both[1]:.2f}x)" if both else "-"
                time_cells = [num(r["median"]), num(r["floor"]), f"{r['ratio']:.2f}x", vs]
            lines.append(f"| {title} | {name} | " + " | ".join(time_cells + mem) + " |")
    torch_env = results["env"].get("torch", {}).get("torch")
    if lines and torch_env:
        lines += ["", f"torch ran with {torch_env['intra_op_threads']} intra-op and "
                  f"{torch_env['interop_threads']} inter-op threads: its own choice, unless "
                  "OMP_NUM_THREADS or MKL_NUM_THREADS is set (see the thread settings above)."]
    return lines


def w5_details(results) -> list[str]:
    if "w5" not in results:
        return []
    w5 = results["w5"]
    lines = ["", "## W5: memory over W2 training steps (autograd_lite, a fresh process)", ""]
    if "error" in w5:
        lines.append(f"Failed: {w5['error']}")
    else:
        samples = ", ".join(f"{step}: {mib:.1f}" for step, mib in w5["rss"].items())
        lines += [f"Resident MiB after step {samples}. Growth from step {w5['warmup_step']} to "
                  f"{w5['steps']}: {w5['growth_mib']:+.1f} MiB; peak {w5['peak_mib']:.0f} MiB."]
    return lines


def diagnostics_details(results) -> list[str]:
    lines = []
    if results["diagnostics"]:
        lines += ["", "## autograd_lite per op: where the time goes, and anomaly mode", "",
                  "| measurement | µs per op | share of a W1 (64,) op |", "| --- | --- | --- |"]
        for d in results["diagnostics"]:
            if "missing" in d:
                lines.append(f"| {d['what']} | not measured: the engine has no "
                             f"`{d['missing']}` any more | - |")
            else:
                share = f"{d['share']:.1%}" if d["share"] < 1 else f"{d['share']:.1f}x"
                lines.append(f"| {d['what']} | {d['us_per_op']:.3f} | {share} |")
    return lines


def notes(results, frameworks) -> list[str]:
    out = list(results["notes"]) + [f"**Error**: {e}" for e in results["errors"]]
    if "micrograd" in frameworks:
        out.append("micrograd computes on Python floats, so it runs W1 (1,) only; its PyPI "
                   "release has no tanh or exp, added in its own style. Its backward is "
                   "recursive: RecursionError on the 10^4-op chain, so no longer chains.")
    if "autograd" in frameworks:
        out.append("HIPS autograd: its `mean` and `maximum` send float64 gradients back for "
                   "float32 inputs, so its code uses `sum / n` and `where` to stay in float32. "
                   "It re-traces the function on every call, which is part of its cost.")
    if "mygrad" in frameworks:
        out.append("mygrad turns Python floats into float64 arrays, so its code uses numpy "
                   "float32 constants; its memory guarding (on by default) is left on.")
    if "torch" in frameworks:
        out.append("torch runs its own BLAS (MKL) and threads; numpy's BLAS settings do not "
                   "apply to it.")
    if results["w4"]:
        out.append("W4's longest chain runs once per framework; shorter ones 3-5 times. A "
                   "process's peak includes the interpreter and the framework's import (torch "
                   "alone takes ~200 MiB), hence the graph column.")
    if results["diagnostics"]:
        out.append("Where autograd_lite's time per op goes beyond numpy's (the section above), "
                   "why the targets it misses are missed, and what would remove the rest: "
                   "`benchmarks/README.md`, \"Where the time goes\".")
    return out


if __name__ == "__main__":
    sys.exit(main())
