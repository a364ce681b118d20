#!/usr/bin/env python3
"""The soak benchmark behind bench/soak.sh: 4 senders for a long time; the server's RSS,
threads and open file descriptors sampled from /proc; a table and a verdict.

Verdict (printed with the figures it rests on):
- RSS flat: the RSS of the last loaded sample is within 10 % + 2 MiB of the RSS at the end of
  the warm-up (a fifth of the run, at most 5 minutes).
- threads and fds flat: at every pause (at the end of the warm-up and every report interval
  the senders release their associations and wait) and at the end, once no association
  thread is left, the thread count and the fd count are those of the first pause (the idle
  server after its worker pools have grown; waited for, up to --settle seconds).
- no failure: every C-STORE answered 0000, no association refused or lost, no sender error.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "interop"))

import helpers  # noqa: E402
from senders import Senders  # noqa: E402

MIB = 1 << 20


def sample(pid: int) -> dict:
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {
        "rss": int(fields["VmRSS"].split()[0]) * 1024,
        "threads": int(fields["Threads"]),
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
    }


def association_threads(pid: int) -> list[str]:
    names = []
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            names.append(Path(f"/proc/{pid}/task/{t}/comm").read_text().strip())
        except OSError:
            pass
    return [n for n in names if n.startswith("assoc")]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--senders", type=int, default=4)
    ap.add_argument("--interval", type=float, default=5, help="seconds between samples")
    ap.add_argument("--report-every", type=float, default=5, help="minutes between table rows and pauses")
    ap.add_argument("--settle", type=float, default=15, help="seconds a pause waits for threads/fds")
    ap.add_argument("--per-association", type=int, default=200)
    ap.add_argument("--workdir", help="where the data folder goes (default: a temp dir, removed)")
    ap.add_argument("--keep-data", action="store_true")
    args = ap.parse_args()

    duration = args.minutes * 60
    warmup = min(duration / 5, 300)
    report_every = args.report_every * 60
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="dcmdisc-soak-"))
    server = helpers.create_dcmdisc(workdir / "server", storage_provider={"max_associations": args.senders + 4})
    pid = server.proc.pid
    print(f"dcmdisc {helpers.dcmdisc_bin()} pid {pid}, data {server.data_dir}, "
          f"{args.senders} senders, {args.minutes:g} min, warm-up {warmup / 60:.1f} min, "
          f"load average at start {os.getloadavg()[0]:.2f}", flush=True)

    time.sleep(2)
    baseline = sample(pid)
    rows = [("0:00", "idle baseline", baseline, 0)]
    senders = Senders(server, args.senders, per_association=args.per_association, keep=False,
                      stop_on_failure=False, pixel_sizes=(512, 2048, 8192)).start()
    t0 = time.monotonic()
    loaded: list[tuple[float, dict]] = []
    pauses: list[tuple[str, dict, bool]] = []
    warm = None
    next_report = report_every
    paused_time = 0.0
    idle = None  # the idle sample of the first pause: the baseline of threads and fds

    def clock(t: float) -> str:
        return f"{int(t // 60)}:{int(t % 60):02d}"

    def settle() -> tuple[dict, bool]:
        """Wait (bounded) until no association thread is left; the sample then, and whether
        threads and fds are back to the idle figures of the first pause (the baseline: worker
        pools the first associations grew, e.g. `archive-io`, stay)."""
        nonlocal idle
        deadline = time.monotonic() + args.settle
        while True:
            s = sample(pid)
            gone = not association_threads(pid)
            if gone and idle is None:
                idle = s
            if idle is not None and s["threads"] == idle["threads"] and s["fds"] == idle["fds"]:
                return s, True
            if time.monotonic() >= deadline:
                return s, False
            time.sleep(0.2)

    def pause(now: float, label: str) -> None:
        nonlocal paused_time
        rows.append((clock(now), label + ", loaded", sample(pid), senders.acknowledged()))
        p0 = time.monotonic()
        senders.paused.set()
        ps, back = settle()
        senders.paused.clear()
        paused_time += time.monotonic() - p0
        pauses.append((clock(now), ps, back))
        rows.append((clock(now), label + ", paused" + ("" if back else " (not back)"), ps,
                     senders.acknowledged()))

    marks = sorted({warmup, *(k * report_every for k in range(1, int(duration // report_every) + 1))})
    marks = [m for m in marks if m < duration - args.interval]
    while True:
        now = time.monotonic() - t0
        if now >= duration:
            break
        time.sleep(min(args.interval, duration - now))
        now = time.monotonic() - t0
        loaded.append((now, sample(pid)))
        if marks and now >= marks[0]:
            mark = marks.pop(0)
            if warm is None:
                warm = loaded[-1][1]
            pause(now, "warm-up end" if mark == warmup else f"{mark / 60:g} min")
    last = loaded[-1][1] if loaded else baseline
    rows.append((clock(time.monotonic() - t0), "end, loaded", last, senders.acknowledged()))
    stuck = senders.stop()
    end_idle, end_back = settle()
    pauses.append(("end", end_idle, end_back))
    rows.append((clock(time.monotonic() - t0), "end, senders gone" + ("" if end_back else " (not back)"),
                 end_idle, senders.acknowledged()))
    elapsed = time.monotonic() - t0

    print()
    print(f"{'time':>6}  {'phase':<28} {'RSS MiB':>8} {'threads':>8} {'fds':>6} {'acked':>10}")
    for t, phase, s, acked in rows:
        print(f"{t:>6}  {phase:<28} {s['rss'] / MIB:8.1f} {s['threads']:8d} {s['fds']:6d} {acked:10d}")
    if loaded:
        for key, unit in (("rss", MIB), ("threads", 1), ("fds", 1)):
            vals = [s[key] for _, s in loaded]
            fmt = (lambda v: f"{v / MIB:.1f} MiB") if unit == MIB else (lambda v: str(v))
            print(f"under load: {key} min {fmt(min(vals))}, max {fmt(max(vals))}")
    acked = senders.acknowledged()
    sending = elapsed - paused_time
    print(f"acknowledged {acked} instances in {elapsed / 60:.1f} min "
          f"({acked / sending:.0f}/s while sending), associations "
          f"{sum(s.associations for s in senders.stats)}, load average at end {os.getloadavg()[0]:.2f}")
    try:
        du = sum(p.stat().st_size for p in server.data_dir.rglob("*") if p.is_file())
        print(f"data folder: {du / MIB:.0f} MiB")
    except OSError:
        pass

    warm = warm or (loaded[0][1] if loaded else baseline)
    bound = warm["rss"] * 1.10 + 2 * MIB
    rss_flat = last["rss"] <= bound
    fds_flat = all(back for _, _, back in pauses)
    refused = senders.refused()
    errors = senders.errors()
    alive = server.running
    print()
    print(f"RSS: {last['rss'] / MIB:.1f} MiB at the end, {warm['rss'] / MIB:.1f} MiB after warm-up, "
          f"bound {bound / MIB:.1f} MiB: {'flat' if rss_flat else 'GROWING'}")
    idle = idle or baseline
    trend = [r[2]["rss"] for r in rows if r[1].endswith("loaded")]
    if len(trend) >= 3 and all(b > a for a, b in zip(trend, trend[1:])):
        step = (trend[-1] - trend[0]) / (len(trend) - 1) / MIB
        print(f"note: RSS rose at every loaded row ({step:.2f} MiB per row): within the bound, but "
              "run longer to see whether it levels off")
    print(f"threads/fds: at start {baseline['threads']}/{baseline['fds']}, idle after the first "
          f"associations (baseline) {idle['threads']}/{idle['fds']}; at pauses and end "
          + ", ".join(f"{t} {s['threads']}/{s['fds']}" for t, s, _ in pauses)
          + f": {'flat' if fds_flat else 'GROWING (not back to the baseline)'}")
    print(f"failures: refused {dict((f'{k:04X}', v) for k, v in refused.items()) or 'none'}, "
          f"sender errors {len(errors)}, senders stuck {stuck or 'none'}, server alive {alive}")
    for e in errors[:20]:
        print(f"  {e}")
    ok = rss_flat and fds_flat and not refused and not errors and not stuck and alive
    print(f"VERDICT: {'PASS (flat, no failure)' if ok else 'FAIL'}")

    server.stop()
    if not args.keep_data and not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
