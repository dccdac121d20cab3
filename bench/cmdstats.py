#!/usr/bin/python3
"""Commands per key per side: starts two throwaway redis-servers on PORTBASE
and PORTBASE+1, loads scripts/gen_dataset.py --keys KEYS --seed 1 into the
first, makes the second identical (REPLICAOF, then NO ONE), then runs one
`compare --rounds 1` and one `replicate --mode scan` (into the flushed
target) of BINARY, each after CONFIG RESETSTAT. Prints one JSON line per
step: INFO commandstats per side (calls, calls per key, usec), server CPU
seconds (INFO cpu) and migcheck's CPU and peak RSS (/usr/bin/time), with
DEBUG DIGEST's source CPU as the compare floor. See bench/README.md.
Usage: /usr/bin/python3 bench/cmdstats.py BINARY KEYS PORTBASE"""
import json, os, subprocess, sys, time, tempfile, redis
binary, keys, base = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
tmp = tempfile.mkdtemp(prefix="perfstats.")
procs = []
def start(port):
    d = os.path.join(tmp, str(port)); os.makedirs(d)
    p = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                          "--enable-debug-command", "yes", "--dir", d, "--logfile", os.path.join(d, "log")])
    procs.append(p)
    r = redis.Redis(port=port)
    for _ in range(100):
        try: r.ping(); return r
        except Exception: time.sleep(0.05)
    raise SystemExit("no server")
def cpu(r):
    i = r.info("cpu"); return i["used_cpu_sys"] + i["used_cpu_user"]
def stats(r):
    return {k[len("cmdstat_"):]: (v["calls"], v["usec"]) for k, v in r.info("commandstats").items()}
def run(args, label, src, dst):
    for r in (src, dst): r.config_resetstat()
    c0 = (cpu(src), cpu(dst))
    t = subprocess.run(["/usr/bin/time", "-f", "%U %S %M", binary] + args, capture_output=True, text=True)
    c1 = (cpu(src), cpu(dst))
    u, s, m = t.stderr.strip().splitlines()[-1].split()
    out = {"label": label, "exit": t.returncode, "src_cpu": round(c1[0]-c0[0], 3), "dst_cpu": round(c1[1]-c0[1], 3),
           "tool_cpu": round(float(u)+float(s), 3), "peak_kib": int(m), "load1": os.getloadavg()[0]}
    for side, r in (("src", src), ("dst", dst)):
        st = stats(r)
        st.pop("info", None); st.pop("config|resetstat", None)
        out[side] = {k: [v[0], round(v[0]/keys, 4), v[1]] for k, v in sorted(st.items(), key=lambda x: -x[1][0])}
        out[side + "_cmds_per_key"] = round(sum(v[0] for v in st.values())/keys, 4)
    print(json.dumps(out), flush=True)
try:
    src, dst = start(base), start(base + 1)
    gen = subprocess.Popen(["python3", f"{repo}/scripts/gen_dataset.py", "--keys", str(keys), "--seed", "1"], stdout=subprocess.PIPE)
    subprocess.run(["redis-cli", "-p", str(base), "--pipe"], stdin=gen.stdout, check=True, capture_output=True)
    # Floors: DEBUG DIGEST CPU on the source.
    c0 = cpu(src); src.execute_command("DEBUG", "DIGEST"); dd = cpu(src) - c0
    dst.execute_command("REPLICAOF", "127.0.0.1", str(base))
    while True:
        i = dst.info("replication")
        if i.get("master_link_status") == "up" and not i.get("master_sync_in_progress"): break
        time.sleep(0.05)
    dst.execute_command("REPLICAOF", "NO", "ONE")
    print(json.dumps({"debug_digest_src_cpu": round(dd, 3), "load1": os.getloadavg()[0]}), flush=True)
    s_uri, d_uri = f"redis://127.0.0.1:{base}", f"redis://127.0.0.1:{base+1}"
    run(["compare", s_uri, d_uri, "--rounds", "1", "--quiet", "--store", os.path.join(tmp, "c.db")], "compare", src, dst)
    dst.flushall()
    run(["replicate", s_uri, d_uri, "--mode", "scan", "--quiet", "--store", os.path.join(tmp, "r.db")], "replicate", src, dst)
finally:
    for p in procs: p.terminate()
    for p in procs: p.wait()
    subprocess.run(["rm", "-rf", tmp])
