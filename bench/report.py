#!/usr/bin/env python3
"""Helpers for bench/store.sh.

  report.py count DIR MINSIZE   number of Part 10 files (DICM at offset 128) of at
                                least MINSIZE bytes under DIR
  report.py summary TSV         per-configuration table (median of pairs) of the
                                results file written by store.sh
"""

import csv
import os
import statistics
import sys
from collections import OrderedDict

BUSY_PCT = 10


def count(root, minsize):
    n = 0
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            try:
                if os.path.getsize(p) < minsize:
                    continue
                with open(p, "rb") as fh:
                    fh.seek(128)
                    if fh.read(4) == b"DICM":
                        n += 1
            except OSError:
                pass
    return n


def fmt_pdu(p):
    p = int(p)
    return "%d KiB" % (p // 1024) if p % 1024 == 0 else str(p)


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def f(x, spec):
    return "—" if x is None else format(x, spec)


def summary(path):
    rows = list(csv.DictReader(open(path), delimiter="\t"))
    groups = OrderedDict()
    for r in rows:
        key = (r["case"], int(r["assocs"]), int(r["pdu"]))
        groups.setdefault(key, {}).setdefault(int(r["pair"]), {})[r["role"]] = r
    out = []
    out.append("| case | assocs | PDU | pairs | dcmdisc inst/s | dcmtk inst/s | dcmdisc MB/s | dcmtk MB/s "
               "| ratio (median of pairs) | dcmdisc peak RSS MB | dcmtk peak RSS MB | busy runs |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for (case, assocs, pdu), pairs in groups.items():
        va, vb, ma, mb, ra, rb, ratios = [], [], [], [], [], [], []
        ok_pairs = 0
        busy = total = 0
        for _, runs in sorted(pairs.items()):
            a, b = runs.get("A"), runs.get("B")
            for r in (a, b):
                if r is not None:
                    total += 1
                    busy += int(r.get("other_cpu_pct") or 0) >= BUSY_PCT
            good_a = a is not None and a["status"] == "ok"
            good_b = b is not None and b["status"] == "ok"
            if good_a:
                va.append(float(a["inst_s"])); ma.append(float(a["mb_s"])); ra.append(int(a["rss_kb"]) / 1024)
            if good_b:
                vb.append(float(b["inst_s"])); mb.append(float(b["mb_s"])); rb.append(int(b["rss_kb"]) / 1024)
            if good_a and good_b:
                ok_pairs += 1
                ratios.append(float(a["mb_s"]) / float(b["mb_s"]))
        out.append("| %s | %d | %s | %d | %s | %s | %s | %s | %s | %s | %s | %d/%d |" % (
            case, assocs, fmt_pdu(pdu), ok_pairs,
            f(med(va), ".1f"), f(med(vb), ".1f"), f(med(ma), ".1f"), f(med(mb), ".1f"),
            f(med(ratios), ".2f") + ("×" if ratios else ""),
            f(med(ra), ".1f"), f(med(rb), ".1f"), busy, total))
    out.append("")
    out.append("busy runs: runs during which other processes used >= %d %% of the machine's CPU "
               "(their figures are low and noisy)." % BUSY_PCT)
    return "\n".join(out)


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "count":
        print(count(sys.argv[2], int(sys.argv[3])))
    elif len(sys.argv) == 3 and sys.argv[1] == "summary":
        print(summary(sys.argv[2]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
