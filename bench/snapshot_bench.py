#!/usr/bin/env python3
"""Snapshot (.rdb) benchmark: in one run, on one file of the benchmark
dataset (scripts/gen_dataset.py, as bench/run.sh loads it):

  parse+digest   `migcheck info dump.rdb --digest` (every value digested as
                 compare does) against `redis-check-rdb dump.rdb` (parses only)
  compare        `migcheck compare dump.rdb TARGET` against the
                 server-to-server `migcheck compare SOURCE TARGET` of the same data
  replicate      `migcheck replicate dump.rdb EMPTY` (figures only)

with the peak RSS of each migcheck step. Goals (issue 17): parse+digest within
1.5x of redis-check-rdb, the file compare no slower than the server one, peak
RSS under 64 MiB. Usage: bench/snapshot_bench.py [--keys N] [--valkey] [--json PATH]
"""
import argparse
import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench as B  # noqa: E402  (servers, measured runs, cleanup)


def load(server, cli, n, seed, expire_base):
    gen = [sys.executable, os.path.join(B.REPO, "scripts", "gen_dataset.py"), "--keys", str(n),
           "--seed", str(seed), "--expire-base", str(expire_base)]
    g = subprocess.Popen(gen, stdout=subprocess.PIPE)
    c = subprocess.run([cli, "-h", "127.0.0.1", "-p", str(server.port), "--pipe"], stdin=g.stdout,
                       capture_output=True, text=True)
    g.stdout.close()
    if g.wait() != 0 or c.returncode != 0 or "errors: 0" not in c.stdout:
        raise B.StepError("loading failed: %s %s" % (c.stdout[-300:], c.stderr[-300:]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keys", type=int, default=1000000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--valkey", action="store_true")
    ap.add_argument("--migcheck", default=os.path.join(B.REPO, "build", "migcheck"))
    ap.add_argument("--json", help="also write the figures here")
    a = ap.parse_args()
    server_bin = "valkey-server" if a.valkey else "redis-server"
    cli = "valkey-cli" if a.valkey else "redis-cli"
    check = shutil.which("valkey-check-rdb" if a.valkey else "redis-check-rdb")
    if not check:
        sys.exit("redis-check-rdb not found")
    root = tempfile.mkdtemp(prefix="migcheck-snapbench-")
    atexit.register(shutil.rmtree, root, True)
    atexit.register(B.stop_all)
    src = B.Server(server_bin, "source", root, None).start()
    tgt = B.Server(server_bin, "target", root, None).start()
    empty = B.Server(server_bin, "empty", root, None).start()
    B.log("loading %d keys into source and target" % a.keys)
    # One expiry base for both loads (as bench.py): the same absolute expiries.
    expire_base = (int(time.time()) // 3600 + 25) * 3600 * 1000
    load(src, cli, a.keys, a.seed, expire_base)
    load(tgt, cli, a.keys, a.seed, expire_base)
    src.client().save()
    dump = os.path.join(src.dir, "dump.rdb")
    size = os.path.getsize(dump)
    B.log("dump.rdb: %.1f MiB" % (size / B.MIB))
    store = os.path.join(root, "store.db")
    mig = a.migcheck

    def step(name, argv, expect=0):
        r = B.run_measured(argv, 3600)
        if r["exit"] != expect:
            raise B.StepError("%s: exit %s (expected %d): %s" % (name, r["exit"], expect,
                                                                 r["stderr"][-500:]))
        B.log("%-22s %7.2fs  peak RSS %6.1f MiB" % (name, r["wall_s"], r["peak_rss_kib"] / 1024))
        return r

    res = {
        "check_rdb": step("redis-check-rdb", [check, dump]),
        "digest": step("info --digest", [mig, "info", dump, "--digest"]),
        "compare_file": step("compare dump.rdb TGT", [mig, "compare", dump, tgt.uri, "--store",
                                                      store, "-q"]),
        "compare_server": step("compare SRC TGT", [mig, "compare", src.uri, tgt.uri, "--store",
                                                   store, "-q"]),
        "replicate_file": step("replicate dump.rdb", [mig, "replicate", dump, empty.uri, "--store",
                                                      store, "-q"]),
    }
    same = B.digest(src.client()) == B.digest(empty.client())
    if not same:
        raise B.StepError("replicate dump.rdb: the target's DEBUG DIGEST differs from the source's")
    ratio_digest = res["digest"]["wall_s"] / res["check_rdb"]["wall_s"]
    ratio_compare = res["compare_file"]["wall_s"] / res["compare_server"]["wall_s"]
    peak = max(res[k]["peak_rss_kib"] for k in ("digest", "compare_file", "replicate_file")) / 1024
    print()
    print("snapshot benchmark: %d keys, dump.rdb %.1f MiB (%s)" % (a.keys, size / B.MIB, server_bin))
    print("  parse+digest / redis-check-rdb       %.2fx  (%.2fs / %.2fs; goal <= 1.5x)"
          % (ratio_digest, res["digest"]["wall_s"], res["check_rdb"]["wall_s"]))
    print("  compare dump.rdb / compare SRC TGT   %.2fx  (%.2fs / %.2fs; goal <= 1.0x)"
          % (ratio_compare, res["compare_file"]["wall_s"], res["compare_server"]["wall_s"]))
    print("  replicate dump.rdb EMPTY             %.2fs (DEBUG DIGEST equal to the source's)"
          % res["replicate_file"]["wall_s"])
    print("  peak RSS (migcheck, file steps)      %.1f MiB (goal < 64 MiB)" % peak)
    if a.json:
        for r in res.values():
            r.pop("stdout", None)
            r.pop("stderr", None)
        with open(a.json, "w") as f:
            json.dump({"keys": a.keys, "rdb_bytes": size, "steps": res,
                       "ratio_digest_vs_check_rdb": ratio_digest,
                       "ratio_compare_file_vs_server": ratio_compare, "peak_rss_mib": peak}, f,
                      indent=2)


if __name__ == "__main__":
    try:
        main()
    except B.StepError as e:
        sys.exit("snapshot bench: %s" % e)
