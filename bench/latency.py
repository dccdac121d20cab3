#!/usr/bin/env python3
"""Throughput of migcheck compare and replicate across a slow link.

Starts two local servers, loads scripts/gen_dataset.py's dataset into the
source, and times `migcheck compare` (identical data, one round) and
`migcheck replicate --mode scan` (into an empty target) directly on loopback
and then through bench/relay.py on both sides at each round trip asked for
(default 0, 1 and 20 ms: the relay's own cost, two availability zones, two
regions). Prints each step's wall time, keys/s and its throughput as a ratio
of the direct loopback run of the same step in the same run.

    bench/latency.py                       # 200,000 keys, RTT 0, 1, 20 ms
    bench/latency.py --keys 50000 --rtt 20 --mig-args "--connections 16"
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402  (the same servers, loader and measuring as bench/run.sh)


class Relay:
    """bench/relay.py in front of a server, delaying each way by rtt/2."""

    def __init__(self, port, rtt_ms):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "relay.py"), "--to", "127.0.0.1:%d" % port,
             "--delay-ms", str(rtt_ms / 2.0)],
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, preexec_fn=bench._pdeathsig)
        line = self.proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "listening":
            raise bench.StepError("relay did not start")
        self.uri = "redis://" + line[1]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keys", type=int, default=200_000, help="keys in the dataset (default 200000)")
    ap.add_argument("--rtt", type=float, nargs="+", default=[0, 1, 20], metavar="MS",
                    help="round trips to measure through the relay (default 0 1 20)")
    ap.add_argument("--server-bin", default="redis-server")
    ap.add_argument("--cli", default="redis-cli")
    ap.add_argument("--migcheck", default=os.path.join(bench.REPO, "build", "migcheck"))
    ap.add_argument("--mig-args", default="", help="extra flags for both migcheck steps")
    ap.add_argument("--json", metavar="PATH", help="also write the figures here")
    a = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="migcheck-latency-")
    src = bench.Server(a.server_bin, "source", tmp, None).start()
    dst = bench.Server(a.server_bin, "target", tmp, None).start()
    try:
        gen = [sys.executable, os.path.join(bench.REPO, "scripts", "gen_dataset.py"),
               "--keys", str(a.keys), "--seed", "1", "--expire-base", "0"]
        g = subprocess.Popen(gen, stdout=subprocess.PIPE)
        subprocess.run([a.cli, "-p", str(src.port), "--pipe"], stdin=g.stdout, check=True,
                       capture_output=True)
        g.wait()
        rs, rd = src.client(), dst.client()
        keys = rs.dbsize()
        extra = shlex.split(a.mig_args)
        rows = []
        n = [0]

        def mig(step, s_uri, d_uri):
            n[0] += 1
            store = os.path.join(tmp, "run-%d.db" % n[0])
            if step == "compare":
                argv = [a.migcheck, "compare", s_uri, d_uri, "--rounds", "1"]
                expect = 0
            else:
                rd.flushall()
                argv = [a.migcheck, "replicate", s_uri, d_uri, "--mode", "scan"]
                expect = 0
            res = bench.run_measured(argv + ["--quiet", "--store", store] + extra, 3600)
            if res["exit"] != expect:
                raise bench.StepError("%s exited %d: %s" % (step, res["exit"], res["stderr"][-400:]))
            if bench.digest(rs) != bench.digest(rd):
                raise bench.StepError("%s: the target's DEBUG DIGEST differs from the source's" % step)
            return res

        # The target identical first, so that compare finds no difference.
        mig("replicate", src.uri, dst.uri)
        direct = {}
        for step in ("compare", "replicate"):
            res = mig(step, src.uri, dst.uri)
            direct[step] = res["wall_s"]
            rows.append({"step": step, "link": "direct loopback", "rtt_ms": None, "wall_s": res["wall_s"],
                         "keys_per_s": keys / res["wall_s"], "ratio": 1.0, "cpu_s": res["cpu_s"]})
        for rtt in a.rtt:
            rel = [Relay(src.port, rtt), Relay(dst.port, rtt)]
            try:
                for step in ("compare", "replicate"):
                    res = mig(step, rel[0].uri, rel[1].uri)
                    rows.append({"step": step, "link": "relay, %g ms RTT" % rtt, "rtt_ms": rtt,
                                 "wall_s": res["wall_s"], "keys_per_s": keys / res["wall_s"],
                                 "ratio": direct[step] / res["wall_s"], "cpu_s": res["cpu_s"]})
            finally:
                for r in rel:
                    r.stop()
    finally:
        src.stop()
        dst.stop()

    print("%d keys; migcheck %s %s" % (keys, a.migcheck, a.mig_args))
    print("| step | link | wall s | keys/s | throughput vs direct | migcheck CPU s |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for r in rows:
        print("| %s | %s | %.2f | %d | %.2fx | %.2f |" % (r["step"], r["link"], r["wall_s"], r["keys_per_s"],
                                                       r["ratio"], r["cpu_s"]))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"keys": keys, "mig_args": a.mig_args, "rows": rows, "when": time.time()}, f, indent=1)


if __name__ == "__main__":
    try:
        main()
    except bench.StepError as e:
        print("latency: %s" % e, file=sys.stderr)
        sys.exit(2)
