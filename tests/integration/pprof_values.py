#!/usr/bin/env python3
"""pprof_values.py FILE: per-function sums of a profile, as `go tool pprof` reads it.

Runs the real `go tool pprof -raw FILE` (with HOME in a scratch directory, so
that no binary or symbol cache on this machine can help it) and prints:

  types T1 T2 ...          the sample types, in order
  flat FUNC V1 V2 ...      sums over samples whose leaf location's first
                           (innermost) line is in FUNC
  cum FUNC V1 V2 ...       sums over samples with FUNC anywhere in the stack
                           (each sample counted once per function)
  label KEY=VALUE V1 ...   sums over samples carrying that label
  flatmap FILE V1 ...      sums over samples whose leaf lies in FILE's mapping
  mapping FLAGS FILE [BUILD_ID]   each mapping with pprof's [FN...] flags

Exits 1, printing pprof's output, if pprof fails or prints a warning about
symbolization or the format.
"""
import collections
import os
import re
import subprocess
import sys
import tempfile


def run_pprof(path):
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, HOME=home, PPROF_BINARY_PATH=home, GOCACHE=home + "/gocache")
        p = subprocess.run(["go", "tool", "pprof", "-raw", path], env=env,
                           capture_output=True, text=True)
    bad = re.search(r"Local symbolization failed|unrecognized profile format|malformed|"
                    r"failed to|error", p.stderr, re.I)
    if p.returncode != 0 or bad:
        sys.stderr.write("go tool pprof -raw failed:\n" + p.stderr + p.stdout[:2000])
        sys.exit(1)
    return p.stdout


def parse(text):
    lines = text.splitlines()
    types, samples, locs, maps = [], [], {}, []
    loc_map = {}
    section = None
    cur = None
    for ln in lines:
        if ln.startswith("Samples:"):
            section = "samples"
            continue
        if ln.startswith("Locations"):
            section = "locs"
            continue
        if ln.startswith("Mappings"):
            section = "maps"
            continue
        if section == "samples":
            if not types:
                types = ln.split()
                continue
            m = re.match(r"^\s*([-\d\s]+):\s*([\d\s]*)$", ln)
            if m:
                vals = [int(v) for v in m.group(1).split()]
                ids = [int(v) for v in m.group(2).split()]
                cur = {"v": vals, "ids": ids, "labels": []}
                samples.append(cur)
                continue
            m = re.match(r"^\s+(\S+?):\[(.*)\]\s*$", ln)
            if m and cur is not None:
                for val in m.group(2).split():
                    cur["labels"].append(m.group(1) + "=" + val)
        elif section == "locs":
            m = re.match(r"^\s*(\d+):\s+(0x[0-9a-f]+)\s+M=(\d+)\s+(\S+)", ln)
            if m:
                locs[int(m.group(1))] = [m.group(4)]
                loc_map[int(m.group(1))] = int(m.group(3))
                last = int(m.group(1))
                continue
            m = re.match(r"^\s+(\S+)\s+\S+:\d+\s+s=\d+", ln)  # further (outer) inline lines
            if m and locs:
                locs[last].append(m.group(1))
        elif section == "maps":
            m = re.match(r"^(\d+):\s+\S+\s+(\S+)\s+(\S*)\s*(\[.*\])?", ln)
            if m:
                build_id = m.group(3) if m.group(3) and not m.group(3).startswith("[") else ""
                flags = m.group(4) or (m.group(3) if m.group(3).startswith("[") else "[]")
                maps.append((int(m.group(1)), flags, m.group(2), build_id))
    return types, samples, locs, maps, loc_map


def main():
    types, samples, locs, maps, loc_map = parse(run_pprof(sys.argv[1]))
    map_file = {i: f for i, _, f, _ in maps}
    n = len(types)
    flat = collections.defaultdict(lambda: [0] * n)
    cum = collections.defaultdict(lambda: [0] * n)
    labels = collections.defaultdict(lambda: [0] * n)
    flatmap = collections.defaultdict(lambda: [0] * n)
    for s in samples:
        funcs = [f for i in s["ids"] for f in locs.get(i, ["?"])]
        if funcs:
            for k in range(n):
                flat[funcs[0]][k] += s["v"][k]
        if s["ids"]:
            f = map_file.get(loc_map.get(s["ids"][0]), "?")
            for k in range(n):
                flatmap[f][k] += s["v"][k]
        for f in set(funcs):
            for k in range(n):
                cum[f][k] += s["v"][k]
        for lab in s["labels"]:
            for k in range(n):
                labels[lab][k] += s["v"][k]
    print("types", *types)
    for name, table in (("flat", flat), ("cum", cum), ("label", labels), ("flatmap", flatmap)):
        for f, v in sorted(table.items()):
            print(name, f, *v)
    for _, flags, f, build_id in maps:
        print("mapping", flags, f, build_id)


if __name__ == "__main__":
    main()
