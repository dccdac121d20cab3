#!/usr/bin/env python3
"""migcheck benchmark driver (run it through bench/run.sh).

Starts two local servers, loads a reproducible dataset into the first, and
measures in one run, on the same data: DEBUG DIGEST (the compare floor),
`migcheck compare` on identical data, a scripted redis-py compare, a native
REPLICAOF full sync (the replicate floor), `migcheck replicate --mode scan`
into an empty target, and a scripted redis-py DUMP/RESTORE copy. Prints a
table, the ratios and PASS/FAIL against the goals, and writes JSON.
See bench/README.md.
"""
import argparse
import atexit
import ctypes
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import redis

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
MIB = 1024 * 1024

# Goals (defined for this 2-core machine, both servers local, 1M mixed keys).
GOAL_COMPARE_VS_DIGEST_WALL = 1.0
GOAL_COMPARE_SPEEDUP_VS_PEER = 10.0
GOAL_COMPARE_VS_DIGEST_CPU = 1.0
GOAL_REPLICATE_VS_REPLICAOF_WALL = 1.5
GOAL_REPLICATE_SPEEDUP_VS_PEER = 5.0
GOAL_PEAK_RSS_MIB = 64.0
GOAL_RSS_GROWTH = 0.10


def log(msg):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


class StepError(Exception):
    pass


# --------------------------------------------------------------------------
# servers

_children = []  # Server objects to stop at exit
_running = set()  # process groups of measured tools still running


def _pdeathsig():
    # The server gets SIGTERM if this driver dies, even by SIGKILL.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, binary, name, root, pid_dir):
        self.binary, self.name = binary, name
        self.dir = os.path.join(root, name)
        self.pid_dir = pid_dir
        os.makedirs(self.dir, exist_ok=True)
        self.proc = None
        self.port = None

    def start(self):
        for _ in range(20):
            port = free_port()
            argv = [self.binary, "--port", str(port), "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "no", "--enable-debug-command", "yes",
                    "--protected-mode", "no", "--daemonize", "no", "--dir", self.dir,
                    "--logfile", os.path.join(self.dir, "server.log"),
                    "--dbfilename", "dump.rdb"]
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, preexec_fn=_pdeathsig)
            self.port = port
            _children.append(self)
            if self.pid_dir:
                with open(os.path.join(self.pid_dir, "%s.pid" % self.name), "w") as f:
                    f.write("%d %d\n" % (self.proc.pid, port))
            deadline = time.time() + 10
            while time.time() < deadline and self.proc.poll() is None:
                try:
                    # Ours, not another server that took the port meanwhile.
                    if int(self.client(timeout=1).info("server")["process_id"]) == self.proc.pid:
                        return self
                    break
                except redis.RedisError:
                    time.sleep(0.02)
            self.stop()  # port taken in the meantime, or a bad start: try another port
        raise StepError("could not start %s (see %s)" % (self.binary, os.path.join(self.dir, "server.log")))

    def client(self, timeout=3600):
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=timeout)

    @property
    def hostport(self):
        return "127.0.0.1:%d" % self.port

    @property
    def uri(self):
        return "redis://127.0.0.1:%d" % self.port

    def stop(self):
        p = self.proc
        if p is None or p.poll() is not None:
            return
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def stop_all():
    for pgid in list(_running):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except OSError:
            pass
    for s in _children:
        try:
            s.stop()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


def cpu_seconds(r):
    """(process CPU, fork-children CPU) seconds of a server, from INFO cpu."""
    i = r.info("cpu")
    own = float(i["used_cpu_sys"]) + float(i["used_cpu_user"])
    kids = float(i.get("used_cpu_sys_children", 0)) + float(i.get("used_cpu_user_children", 0))
    return own, kids


def wait_no_child(r, timeout=60):
    """Waits until the server has reaped its fork child, so its CPU is counted."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        i = r.info("persistence")
        if not i.get("rdb_bgsave_in_progress") and not i.get("aof_rewrite_in_progress"):
            return
        time.sleep(0.01)


def machine_busy_s():
    """Non-idle CPU seconds of the whole machine since boot (/proc/stat)."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return 0.0
    idle = v[3] + (v[4] if len(v) > 4 else 0)  # idle + iowait
    busy = sum(v[:8]) - idle  # user nice system idle iowait irq softirq steal
    return busy / os.sysconf("SC_CLK_TCK")


def digest(r):
    d = r.execute_command("DEBUG", "DIGEST")
    return d.decode() if isinstance(d, bytes) else d


def keyspace(r):
    i = r.info("keyspace").get("db0") or {}
    return {"keys": int(i.get("keys", 0)), "expires": int(i.get("expires", 0))}


# --------------------------------------------------------------------------
# measured child processes

def run_measured(argv, timeout, env=None):
    """Runs argv; returns wall seconds, exit code, peak RSS (KiB), user+sys CPU
    seconds and its stdout/stderr. Peak RSS and CPU come from /usr/bin/time -v
    when it is installed, else from wait4()'s rusage of the child."""
    time_bin = shutil.which("time", path="/usr/bin:/bin")
    tf = None
    full = argv
    if time_bin:
        fd, tf = tempfile.mkstemp(prefix="bench-time-")
        os.close(fd)
        full = [time_bin, "-v", "-o", tf] + argv
    out_f = tempfile.TemporaryFile()
    err_f = tempfile.TemporaryFile()
    t0 = time.perf_counter()
    # Its own process group (not session: a new session would be a new
    # scheduler autogroup, outside --nice), so a tool under /usr/bin/time is
    # stopped with it at exit.
    def pre():
        _pdeathsig()
        os.setpgid(0, 0)
    p = subprocess.Popen(full, stdin=subprocess.DEVNULL, stdout=out_f, stderr=err_f, env=env,
                         preexec_fn=pre)
    _running.add(p.pid)
    timed_out = []

    def kill():
        timed_out.append(True)
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
    timer = threading.Timer(timeout, kill)
    timer.daemon = True
    timer.start()
    try:
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        _running.discard(p.pid)
    finally:
        timer.cancel()
    p.returncode = os.waitstatus_to_exitcode(status)
    res = {"wall_s": wall, "exit": p.returncode, "peak_rss_kib": ru.ru_maxrss,
           "cpu_s": ru.ru_utime + ru.ru_stime, "rss_source": "wait4"}
    if tf:
        with open(tf) as f:
            text = f.read()
        os.unlink(tf)
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
        u = re.search(r"User time \(seconds\): ([\d.]+)", text)
        s = re.search(r"System time \(seconds\): ([\d.]+)", text)
        st = re.search(r"Exit status: (\d+)", text)
        if m:
            res["peak_rss_kib"] = int(m.group(1))
            res["rss_source"] = "/usr/bin/time -v"
        if u and s:
            res["cpu_s"] = float(u.group(1)) + float(s.group(1))
        if st:
            res["exit"] = int(st.group(1))
        elif "Command terminated by signal" in text:
            res["exit"] = -int(re.search(r"signal (\d+)", text).group(1))
    out_f.seek(0)
    err_f.seek(0)
    res["stdout"] = out_f.read().decode("utf-8", "replace")
    res["stderr"] = err_f.read().decode("utf-8", "replace")
    if timed_out:
        res["timed_out"] = True
    return res


# --------------------------------------------------------------------------
# the benchmark

class Bench:
    def __init__(self, a):
        self.a = a
        # Inside run.sh's dir when there is one, so its trap removes it even if
        # this driver is killed; --keep keeps it elsewhere.
        parent = a.pid_dir if a.pid_dir and not a.keep else None
        self.tmp = tempfile.mkdtemp(prefix="migcheck-bench-", dir=parent)
        tempfile.tempdir = self.tmp  # run_measured's scratch files too
        self.steps = {}       # name -> figures
        self.failures = []    # step failures (the run exits non-zero)
        self.store_n = 0

    # --- helpers ----------------------------------------------------------
    def fail(self, step, msg):
        log("FAILED %s: %s" % (step, msg))
        self.failures.append({"step": step, "error": msg})

    def store(self, what):
        self.store_n += 1
        return os.path.join(self.tmp, "%s-%d.db" % (what, self.store_n))

    def load(self, n):
        a = self.a
        gen = [sys.executable, os.path.join(REPO, "scripts", "gen_dataset.py"),
               "--keys", str(n), "--seed", str(a.seed), "--big", str(a.big)]
        gen += ["--expire-base", str(a.expire_base)]
        cli = [a.cli, "-h", "127.0.0.1", "-p", str(self.src.port), "--pipe"]
        t0 = time.perf_counter()
        g = subprocess.Popen(gen, stdout=subprocess.PIPE)
        c = subprocess.run(cli, stdin=g.stdout, capture_output=True, text=True)
        g.stdout.close()
        grc = g.wait()
        wall = time.perf_counter() - t0
        m = re.search(r"errors: (\d+), replies: (\d+)", c.stdout)
        if grc != 0 or c.returncode != 0 or not m or int(m.group(1)) != 0:
            raise StepError("loading failed: gen exit %d, cli exit %d: %s %s"
                            % (grc, c.returncode, c.stdout[-500:], c.stderr[-500:]))
        ks = keyspace(self.rs)
        log("loaded %d keys (%d with TTL) in %.1fs (%d commands)" % (ks["keys"], ks["expires"], wall,
                                                                    int(m.group(2))))
        return {"wall_s": wall, "commands": int(m.group(2)), **ks,
                "used_memory": int(self.rs.info("memory")["used_memory"])}

    def replicaof(self, name):
        """Native full sync src -> (empty) dst, timed from REPLICAOF until the
        target reports link up and no sync in progress; then REPLICAOF NO ONE."""
        rs, rd = self.rs, self.rd
        self.wait_idle()
        before = self.snap()
        t0 = time.perf_counter()
        rd.execute_command("REPLICAOF", "127.0.0.1", self.src.port)
        deadline = time.time() + self.a.step_timeout
        while True:
            i = rd.info("replication")
            if i.get("master_link_status") == "up" and int(i.get("master_sync_in_progress", 1)) == 0:
                break
            if time.time() > deadline:
                raise StepError("REPLICAOF did not finish in %ds" % self.a.step_timeout)
            time.sleep(0.005)
        wall = time.perf_counter() - t0
        rd.execute_command("REPLICAOF", "NO", "ONE")
        res = {"wall_s": wall, **self.usage(before, self.snap())}
        self.record(name, res)
        return res

    def wait_idle(self):
        """With --wait-idle S: waits (up to S seconds) until the machine's other
        processes use under a quarter of a core, sampled over half a second."""
        if not self.a.wait_idle:
            return
        deadline = time.time() + self.a.wait_idle
        while True:
            b0 = machine_busy_s()
            time.sleep(0.5)
            cores = (machine_busy_s() - b0) / 0.5
            if cores < 0.25:
                return
            if time.time() > deadline:
                log("machine still busy (%.2f cores used by others); measuring anyway" % cores)
                return

    def snap(self):
        """CPU counters of both servers and of the whole machine. The servers'
        fork children (the REPLICAOF RDB writer) count once they are reaped."""
        wait_no_child(self.rs)
        wait_no_child(self.rd)
        s, sk = cpu_seconds(self.rs)
        d, dk = cpu_seconds(self.rd)
        return {"src": s, "src_kids": sk, "dst": d + dk, "busy": machine_busy_s(),
                "load1": os.getloadavg()[0]}

    @staticmethod
    def usage(a, b, tool_cpu=0.0):
        res = {"src_cpu_s": (b["src"] - a["src"]) + (b["src_kids"] - a["src_kids"]),
               "src_cpu_fork_child_s": b["src_kids"] - a["src_kids"],
               "dst_cpu_s": b["dst"] - a["dst"],
               "machine_cpu_s": b["busy"] - a["busy"], "load1_before": a["load1"]}
        # CPU that neither server nor the measured tool used: other processes
        # on the machine (and this driver's polling); high values mean noise.
        res["other_cpu_s"] = max(0.0, res["machine_cpu_s"] - res["src_cpu_s"] - res["dst_cpu_s"] - tool_cpu)
        # What the job cost in CPU (both servers and the tool): robust to noise;
        # on 2 cores the wall can't go below half of it.
        res["job_cpu_s"] = res["src_cpu_s"] + res["dst_cpu_s"] + tool_cpu
        return res

    def record(self, name, res, keys=None):
        keys = self.keys if keys is None else keys
        res["keys"] = keys
        res["keys_per_s"] = keys / res["wall_s"] if res["wall_s"] > 0 else None
        for k in ("stdout", "stderr"):
            if k in res and len(res[k]) > 4000:
                res[k] = res[k][-4000:]
        self.steps.setdefault(name, []).append(res)
        extra = ""
        if "peak_rss_kib" in res:
            extra += ", peak RSS %.1f MiB" % (res["peak_rss_kib"] / 1024)
        if "src_cpu_s" in res:
            extra += ", source CPU %.2fs" % res["src_cpu_s"]
        if "exit" in res:
            extra += ", exit %d" % res["exit"]
        log("%s: %.3fs (%s keys/s)%s" % (name, res["wall_s"], fmt_rate(res["keys_per_s"]), extra))

    def measured_tool(self, name, argv, expect_exit):
        self.wait_idle()
        prof = self.start_profile(name) if self.a.profile and argv[0] == self.a.migcheck else None
        run_argv = argv
        if prof:
            run_argv = ["perf", "record", "-q", "-F", str(self.a.profile_freq), "-o",
                        prof["tool"], "--"] + argv
        before = self.snap()
        res = run_measured(run_argv, self.a.step_timeout)
        res.update(self.usage(before, self.snap(), res["cpu_s"]))
        res["argv"] = argv
        if prof:
            res["profiled"] = self.stop_profile(prof)
        self.record(name, res)
        res["ok"] = True
        if res.get("timed_out"):
            res["ok"] = False
            self.fail(name, "timed out after %ds" % self.a.step_timeout)
        elif expect_exit is not None and res["exit"] != expect_exit:
            res["ok"] = False
            self.fail(name, "exit code %d, expected %d; stderr: %s"
                      % (res["exit"], expect_exit, res["stderr"].strip()[-1000:]))
        return res

    def start_profile(self, name):
        """--profile DIR: perf record of both servers and of the migcheck
        process during the step (flat, cpu-clock). Figures of a profiled step
        carry perf's overhead."""
        d = self.a.profile
        os.makedirs(d, exist_ok=True)
        prof = {"tool": os.path.join(d, "%s-migcheck.data" % name), "servers": []}
        for srv in (self.src, self.dst):
            out = os.path.join(d, "%s-%s.data" % (name, srv.name))
            p = subprocess.Popen(["perf", "record", "-q", "-F", str(self.a.profile_freq), "-p",
                                  str(srv.proc.pid), "-o", out], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 preexec_fn=_pdeathsig)
            prof["servers"].append((p, out))
        time.sleep(0.3)  # perf attaches
        return prof

    def stop_profile(self, prof):
        files = [prof["tool"]]
        for p, out in prof["servers"]:
            p.send_signal(signal.SIGINT)
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
            files.append(out)
        reports = []
        for data in files:
            if not os.path.exists(data):
                continue
            txt = data[:-5] + ".txt"
            with open(txt, "w") as fh:
                subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children",
                                "--sort", "dso,symbol", "--percent-limit", "0.5"],
                               stdout=fh, stderr=subprocess.DEVNULL)
            reports.append(txt)
        log("profile: %s" % ", ".join(reports))
        return reports

    def flush_target(self):
        self.rd.execute_command("FLUSHALL", "SYNC")

    def check_same(self, step):
        ds, dd = digest(self.rs), digest(self.rd)
        ks, kd = keyspace(self.rs), keyspace(self.rd)
        ok = ds == dd and ks == kd
        info = {"digest_source": ds, "digest_target": dd, "keyspace_source": ks,
                "keyspace_target": kd, "equal": ok}
        if not ok:
            if self.steps.get(step):
                self.steps[step][-1]["ok"] = False
            self.fail(step, "target differs after %s: DEBUG DIGEST %s vs %s, keyspace %s vs %s"
                      % (step, ds, dd, ks, kd))
        else:
            log("%s: DEBUG DIGEST equal on both sides (%s), keyspace %s" % (step, ds, ks))
        return info

    def mig(self, *args):
        return [self.a.migcheck] + list(args)

    def median_step(self, name):
        runs = self.steps.get(name) or []
        if not runs:
            return None
        walls = sorted(runs, key=lambda r: r["wall_s"])
        return walls[(len(walls) - 1) // 2]

    # --- phases -----------------------------------------------------------
    def identical(self, name):
        """Makes the target byte-identical to the source (incl. TTLs) by a full
        sync; that sync is the replicate floor measurement."""
        self.flush_target()
        self.replicaof(name)
        return self.check_same(name)

    def run_main(self):
        a = self.a
        n = a.keys
        self.load_info = self.load(n)
        self.keys = self.load_info["keys"]

        # 1. REPLICAOF floor, which also leaves the target identical.
        checks = self.checks = {}
        for i in range(a.repeat):
            checks["replicaof"] = self.identical("replicaof")

        # 2. DEBUG DIGEST floor.
        for i in range(a.repeat):
            self.wait_idle()
            before = self.snap()
            t0 = time.perf_counter()
            digest(self.rs)
            wall = time.perf_counter() - t0
            self.record("debug_digest", {"wall_s": wall, **self.usage(before, self.snap())})

        # 3. migcheck compare on identical data: must exit 0.
        for i in range(a.repeat):
            self.measured_tool("migcheck_compare",
                               self.mig("compare", self.src.uri, self.dst.uri, "--rounds", "1",
                                        "--quiet", "--store", self.store("compare")), 0)

        # 4. scripted compare.
        if not a.skip_peers:
            peer = [sys.executable, os.path.join(HERE, "peer_compare.py"), "--src", self.src.hostport,
                    "--dst", self.dst.hostport, "--batch", str(a.batch)]
            r = self.measured_tool("scripted_compare", peer, 0)
            self.peer_summary(r)

        # 5. migcheck compare must see a difference (exit 1) once the target differs.
        victim = self.pick_key()
        if victim is not None:
            self.rd.set(victim, b"changed by the benchmark harness")
            self.measured_tool("migcheck_compare_differ",
                               self.mig("compare", self.src.uri, self.dst.uri, "--rounds", "1",
                                        "--quiet", "--store", self.store("compare-differ")), 1)

        # 6. migcheck replicate into an empty target.
        for i in range(a.repeat):
            self.flush_target()
            self.measured_tool("migcheck_replicate",
                               self.mig("replicate", self.src.uri, self.dst.uri, "--mode", "scan",
                                        "--quiet", "--store", self.store("replicate")), 0)
            checks["migcheck_replicate"] = self.check_same("migcheck_replicate")

        # 7. scripted copy into an empty target.
        if not a.skip_peers:
            self.flush_target()
            peer = [sys.executable, os.path.join(HERE, "peer_copy.py"), "--src", self.src.hostport,
                    "--dst", self.dst.hostport, "--batch", str(a.batch)]
            r = self.measured_tool("scripted_copy", peer, 0)
            self.peer_summary(r)
            checks["scripted_copy"] = self.check_same("scripted_copy")

    def run_scaling(self):
        """compare and replicate at 2N keys (N is the main run): RSS growth."""
        a = self.a
        n2 = 2 * a.keys
        log("memory scaling: reloading with %d keys" % n2)
        self.rs.execute_command("FLUSHALL", "SYNC")
        self.flush_target()
        self.load_info_2n = self.load(n2)
        keys2 = self.load_info_2n["keys"]
        saved, self.keys = self.keys, keys2
        try:
            self.identical("replicaof_2n")
            self.measured_tool("migcheck_compare_2n",
                               self.mig("compare", self.src.uri, self.dst.uri, "--rounds", "1",
                                        "--quiet", "--store", self.store("compare-2n")), 0)
            self.flush_target()
            self.measured_tool("migcheck_replicate_2n",
                               self.mig("replicate", self.src.uri, self.dst.uri, "--mode", "scan",
                                        "--quiet", "--store", self.store("replicate-2n")), 0)
            self.checks["migcheck_replicate_2n"] = self.check_same("migcheck_replicate_2n")
        finally:
            self.keys = saved

    def run_huge(self):
        """--huge-value MiB: one string that big (Redis takes up to 512 MiB),
        replicated into an empty target and compared: wall time and peak RSS,
        which must stay far below the value's size (it is read in windows)."""
        a = self.a
        size = a.huge_value * MIB
        log("huge value: loading one %d MiB string" % a.huge_value)
        self.rs.execute_command("FLUSHALL", "SYNC")
        self.flush_target()
        piece = 64 * MIB
        self.rs.set("huge", b"")
        for off in range(0, size, piece):
            self.rs.append("huge", os.urandom(min(piece, size - off)))
        saved, self.keys = self.keys, 1
        try:
            self.measured_tool("migcheck_replicate_huge",
                               self.mig("replicate", self.src.uri, self.dst.uri, "--mode", "scan",
                                        "--quiet", "--store", self.store("replicate-huge")), 0)
            self.checks["migcheck_replicate_huge"] = self.check_same("migcheck_replicate_huge")
            self.measured_tool("migcheck_compare_huge",
                               self.mig("compare", self.src.uri, self.dst.uri, "--rounds", "1",
                                        "--quiet", "--store", self.store("compare-huge")), 0)
        finally:
            self.keys = saved

    def pick_key(self):
        for k in self.rs.scan_iter(match="str:*", count=100):
            return k
        for k in self.rs.scan_iter(count=100):
            return k
        return None

    def peer_summary(self, r):
        try:
            r["result"] = json.loads(r["stdout"].strip().splitlines()[-1])
        except (ValueError, IndexError):
            r["result"] = None

    # --- report -----------------------------------------------------------
    def figures(self):
        f = {}
        for name in self.steps:
            m = self.median_step(name)
            f[name] = {k: v for k, v in m.items() if k not in ("stdout", "stderr", "argv")}
            if len(self.steps[name]) > 1:
                f[name]["runs_wall_s"] = [r["wall_s"] for r in self.steps[name]]
        return f

    def ratios(self, f):
        def get(step, key):  # figures of a failed step make no ratio
            x = f.get(step) or {}
            return x.get(key) if x.get("ok", True) else None

        def div(x, y):
            return x / y if x is not None and y else None
        r = {
            "compare_wall_vs_debug_digest": div(get("migcheck_compare", "wall_s"), get("debug_digest", "wall_s")),
            "compare_src_cpu_vs_debug_digest": div(get("migcheck_compare", "src_cpu_s"),
                                                   get("debug_digest", "src_cpu_s")),
            "scripted_compare_vs_compare_wall": div(get("scripted_compare", "wall_s"),
                                                    get("migcheck_compare", "wall_s")),
            "replicate_wall_vs_replicaof": div(get("migcheck_replicate", "wall_s"), get("replicaof", "wall_s")),
            "scripted_copy_vs_replicate_wall": div(get("scripted_copy", "wall_s"),
                                                   get("migcheck_replicate", "wall_s")),
            "compare_job_cpu_vs_debug_digest": div(get("migcheck_compare", "job_cpu_s"),
                                                   get("debug_digest", "job_cpu_s")),
            "replicate_job_cpu_vs_replicaof": div(get("migcheck_replicate", "job_cpu_s"),
                                                  get("replicaof", "job_cpu_s")),
            "replicate_src_cpu_vs_replicaof": div(get("migcheck_replicate", "src_cpu_s"),
                                                  get("replicaof", "src_cpu_s")),
            "compare_peak_rss_mib": div(get("migcheck_compare", "peak_rss_kib"), 1024),
            "replicate_peak_rss_mib": div(get("migcheck_replicate", "peak_rss_kib"), 1024),
        }
        for what in ("compare", "replicate"):
            if "migcheck_%s_huge" % what in f:
                r["%s_huge_peak_rss_mib" % what] = div(get("migcheck_%s_huge" % what, "peak_rss_kib"),
                                                        1024)
        if "migcheck_compare_2n" in f:
            for what in ("compare", "replicate"):
                a1 = get("migcheck_" + what, "peak_rss_kib")
                a2 = get("migcheck_%s_2n" % what, "peak_rss_kib")
                r["%s_rss_growth_2n" % what] = div(a2, a1) - 1 if a1 and a2 else None
        return r

    def goals(self, r):
        def goal(name, value, ok_fn, target):
            ok = None if value is None else bool(ok_fn(value))
            return {"goal": name, "target": target, "value": value,
                    "status": "n/a" if ok is None else ("PASS" if ok else "FAIL")}
        g = [
            goal("compare wall <= 1.0x DEBUG DIGEST", r["compare_wall_vs_debug_digest"],
                 lambda v: v <= GOAL_COMPARE_VS_DIGEST_WALL, "<= %.1fx" % GOAL_COMPARE_VS_DIGEST_WALL),
            goal("compare >= 10x faster than scripted compare", r["scripted_compare_vs_compare_wall"],
                 lambda v: v >= GOAL_COMPARE_SPEEDUP_VS_PEER, ">= %.0fx" % GOAL_COMPARE_SPEEDUP_VS_PEER),
            goal("compare source CPU <= DEBUG DIGEST CPU", r["compare_src_cpu_vs_debug_digest"],
                 lambda v: v <= GOAL_COMPARE_VS_DIGEST_CPU, "<= %.1fx" % GOAL_COMPARE_VS_DIGEST_CPU),
            goal("replicate wall <= 1.5x REPLICAOF", r["replicate_wall_vs_replicaof"],
                 lambda v: v <= GOAL_REPLICATE_VS_REPLICAOF_WALL, "<= %.1fx" % GOAL_REPLICATE_VS_REPLICAOF_WALL),
            goal("replicate >= 5x faster than scripted copy", r["scripted_copy_vs_replicate_wall"],
                 lambda v: v >= GOAL_REPLICATE_SPEEDUP_VS_PEER, ">= %.0fx" % GOAL_REPLICATE_SPEEDUP_VS_PEER),
            goal("compare peak RSS < 64 MiB", r["compare_peak_rss_mib"],
                 lambda v: v < GOAL_PEAK_RSS_MIB, "< %.0f MiB" % GOAL_PEAK_RSS_MIB),
            goal("replicate peak RSS < 64 MiB", r["replicate_peak_rss_mib"],
                 lambda v: v < GOAL_PEAK_RSS_MIB, "< %.0f MiB" % GOAL_PEAK_RSS_MIB),
        ]
        for what in ("compare", "replicate"):
            k = "%s_huge_peak_rss_mib" % what
            if k in r:
                g.append(goal("%s peak RSS < 64 MiB with a huge value" % what, r[k],
                              lambda v: v < GOAL_PEAK_RSS_MIB, "< %.0f MiB" % GOAL_PEAK_RSS_MIB))
        for what in ("compare", "replicate"):
            k = "%s_rss_growth_2n" % what
            if k in r:
                g.append(goal("%s RSS growth N -> 2N <= 10%%" % what, r[k],
                              lambda v: v <= GOAL_RSS_GROWTH, "<= 10%"))
        return g


def fmt_rate(v):
    if v is None:
        return "-"
    if v >= 1e6:
        return "%.2fM" % (v / 1e6)
    if v >= 1e3:
        return "%.1fk" % (v / 1e3)
    return "%.0f" % v


def fmt(v, spec="%.3f"):
    return "-" if v is None else spec % v


def print_report(b, f, r, g, smoke):
    order = [("replicaof", "REPLICAOF full sync (floor)"),
             ("debug_digest", "DEBUG DIGEST on source (floor)"),
             ("migcheck_compare", "migcheck compare"),
             ("scripted_compare", "scripted compare (redis-py)"),
             ("migcheck_compare_differ", "migcheck compare, 1 key differs"),
             ("migcheck_replicate", "migcheck replicate --mode scan"),
             ("scripted_copy", "scripted copy (redis-py)"),
             ("replicaof_2n", "REPLICAOF full sync, 2N keys"),
             ("migcheck_compare_2n", "migcheck compare, 2N keys"),
             ("migcheck_replicate_2n", "migcheck replicate, 2N keys"),
             ("migcheck_replicate_huge", "migcheck replicate, huge value"),
             ("migcheck_compare_huge", "migcheck compare, huge value")]
    print()
    print("%-32s %8s %8s %8s %8s %8s %8s %9s %8s %4s  %s" % (
        "step", "wall s", "keys/s", "src CPU", "dst CPU", "tool CPU", "job CPU", "other CPU",
        "peak MiB", "exit", "ok"))
    print("-" * 118)
    for name, label in order:
        if name not in f:
            continue
        x = f[name]
        print("%-32s %8s %8s %8s %8s %8s %8s %9s %8s %4s  %s" % (
            label, fmt(x["wall_s"]), fmt_rate(x.get("keys_per_s")), fmt(x.get("src_cpu_s"), "%.2f"),
            fmt(x.get("dst_cpu_s"), "%.2f"), fmt(x.get("cpu_s"), "%.2f"), fmt(x.get("job_cpu_s"), "%.2f"),
            fmt(x.get("other_cpu_s"), "%.2f"),
            fmt(x["peak_rss_kib"] / 1024 if "peak_rss_kib" in x else None, "%.1f"),
            x.get("exit", ""), "yes" if x.get("ok", True) else "FAILED"))
    print("(src/dst CPU: server CPU seconds from INFO cpu, fork child included; tool CPU: the measured\n"
          " process's user+sys; job CPU: the three added; other CPU: the rest of the machine's busy CPU)")
    noisy = [label for name, label in order
             if name in f and (f[name].get("other_cpu_s") or 0) > 0.25 * max(f[name]["wall_s"], 0.2)]
    if noisy and b.a.nice is None:
        print("WARNING: other processes used much CPU during: %s -- on 2 cores that distorts the"
              " figures; rerun on an idle machine, or with --nice -10 (as root)" % ", ".join(noisy))
    elif noisy:
        print("note: other processes used spare CPU during: %s (at a lower priority than this run's"
              " --nice %d)" % (", ".join(noisy), b.a.nice))
    print()
    print("ratios")
    labels = {
        "compare_wall_vs_debug_digest": "compare wall / DEBUG DIGEST wall",
        "compare_src_cpu_vs_debug_digest": "compare source CPU / DEBUG DIGEST CPU",
        "scripted_compare_vs_compare_wall": "scripted compare / migcheck compare (wall)",
        "replicate_wall_vs_replicaof": "migcheck replicate / REPLICAOF (wall)",
        "scripted_copy_vs_replicate_wall": "scripted copy / migcheck replicate (wall)",
        "compare_job_cpu_vs_debug_digest": "compare job CPU / DEBUG DIGEST CPU (info)",
        "replicate_job_cpu_vs_replicaof": "replicate job CPU / REPLICAOF job CPU (info)",
        "replicate_src_cpu_vs_replicaof": "replicate source CPU / REPLICAOF (info)",
        "compare_peak_rss_mib": "compare peak RSS (MiB)",
        "replicate_peak_rss_mib": "replicate peak RSS (MiB)",
        "compare_rss_growth_2n": "compare RSS growth N -> 2N",
        "replicate_rss_growth_2n": "replicate RSS growth N -> 2N",
        "compare_huge_peak_rss_mib": "compare peak RSS, huge value (MiB)",
        "replicate_huge_peak_rss_mib": "replicate peak RSS, huge value (MiB)",
    }
    for k, v in r.items():
        if k.endswith("growth_2n"):
            s = "-" if v is None else "%+.1f%%" % (100 * v)
        else:
            s = fmt(v, "%.2f")
        print("  %-46s %10s" % (labels.get(k, k), s))
    print()
    hdr = "goals (defined for 1M keys on this 2-core machine)"
    if smoke:
        hdr += " -- smoke mode: shown, not asserted"
    elif b.keys < 900_000:
        hdr += " -- this run has %d keys" % b.keys
    print(hdr)
    for x in g:
        v = x["value"]
        if v is None:
            vs = "-"
        elif "growth" in x["goal"]:
            vs = "%+.1f%%" % (100 * v)
        else:
            vs = "%.2f" % v
        print("  %-4s %-48s %10s  (goal %s)" % (x["status"], x["goal"], vs, x["target"]))
    print()


def machine_info():
    info = {"cores": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version()}
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"model name\s*:\s*(.*)", f.read())
            info["cpu"] = m.group(1).strip() if m else None
        with open("/proc/meminfo") as f:
            m = re.search(r"MemTotal:\s*(\d+) kB", f.read())
            info["mem_gib"] = round(int(m.group(1)) / MIB, 1) if m else None
    except OSError:
        pass
    return info


def ensure_migcheck(a):
    if os.path.isfile(a.migcheck) and os.access(a.migcheck, os.X_OK) and not a.build:
        return
    if a.migcheck != os.path.join(REPO, "build", "migcheck"):
        if not os.path.isfile(a.migcheck):
            raise StepError("--migcheck %s does not exist" % a.migcheck)
        return
    log("building migcheck with scripts/build.sh")
    env = dict(os.environ)
    env.pop("BUILD_DIR", None)
    subprocess.run([os.path.join(REPO, "scripts", "build.sh")], check=True, env=env)
    if not os.path.isfile(a.migcheck):
        raise StepError("scripts/build.sh did not produce %s" % a.migcheck)


def warn_if_stale(path):
    """Warns when a source file is newer than the binary measured."""
    try:
        built = os.path.getmtime(path)
    except OSError:
        return
    newest, newest_path = 0.0, None
    for d in ("src", "compare", "replicate", "reports"):
        for root, _dirs, files in os.walk(os.path.join(REPO, d)):
            for fn in files:
                if fn.endswith((".cc", ".h")):
                    p = os.path.join(root, fn)
                    t = os.path.getmtime(p)
                    if t > newest:
                        newest, newest_path = t, p
    if newest > built:
        log("WARNING: %s is newer than %s: run scripts/build.sh (or pass --build)"
            % (os.path.relpath(newest_path, REPO), path))


def main():
    ap = argparse.ArgumentParser(prog="bench/run.sh",
                                 description="migcheck benchmark: migcheck side by side with the floors "
                                             "of this machine (DEBUG DIGEST, REPLICAOF) and scripted "
                                             "redis-py peers, in one run. See bench/README.md.")
    ap.add_argument("--keys", type=int, default=1_000_000, metavar="N", help="keys in the dataset (default 1000000)")
    ap.add_argument("--seed", type=int, default=1, help="dataset seed (default 1)")
    ap.add_argument("--big", type=int, default=0, metavar="B", help="extra 200k-element big keys (default 0)")
    ap.add_argument("--expire-base", type=int, default=0, metavar="MS",
                    help="unix ms the dataset's expiries count from (default: the next whole hour + 1 day, "
                         "so no key expires during even a long run)")
    ap.add_argument("--valkey", action="store_true", help="use valkey-server / valkey-cli (Valkey 8)")
    ap.add_argument("--server-bin", metavar="PATH", help="server binary (default redis-server, or valkey-server)")
    ap.add_argument("--cli", metavar="PATH", help="CLI for --pipe loading (default redis-cli, or valkey-cli)")
    ap.add_argument("--migcheck", default=os.path.join(REPO, "build", "migcheck"), metavar="PATH",
                    help="migcheck binary (default <repo>/build/migcheck, built with scripts/build.sh "
                         "when missing)")
    ap.add_argument("--build", action="store_true", help="run scripts/build.sh first (default binary only)")
    ap.add_argument("--smoke", action="store_true",
                    help="CI mode: every step runs, exit codes are checked, goals are not asserted")
    ap.add_argument("--memory-scaling", action="store_true",
                    help="also run compare and replicate at 2N keys and report the peak RSS growth")
    ap.add_argument("--huge-value", type=int, default=0, metavar="MIB",
                    help="also replicate and compare one string of MIB MiB (at most 512)")
    ap.add_argument("--skip-peers", action="store_true",
                    help="skip the scripted redis-py peers (their ratios show as -)")
    ap.add_argument("--repeat", type=int, default=1, metavar="R",
                    help="runs of each floor and migcheck step; the median wall is reported (default 1)")
    ap.add_argument("--batch", type=int, default=500, help="batch size of the scripted peers (default 500)")
    ap.add_argument("--step-timeout", type=int, default=0, metavar="S",
                    help="seconds before a step is killed (default 30 with --smoke, else 3600)")
    ap.add_argument("--wait-idle", type=float, default=0, metavar="S",
                    help="before each timed step, wait up to S seconds for the machine to be idle")
    ap.add_argument("--profile", metavar="DIR",
                    help="perf record migcheck and both servers during the migcheck steps; "
                         "flat reports go to DIR/<step>-{migcheck,source,target}.txt")
    ap.add_argument("--profile-freq", type=int, default=999, help=argparse.SUPPRESS)
    ap.add_argument("--nice", type=int, default=None, metavar="N",
                    help="run the driver, servers and measured tools at this niceness (e.g. -10, as "
                         "root: priority over other work on a shared machine)")
    ap.add_argument("--strict", action="store_true", help="exit 3 when a goal FAILs (not in --smoke)")
    ap.add_argument("--json", metavar="PATH", help="also write the JSON results here")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (server logs, stores)")
    ap.add_argument("--pid-dir", help=argparse.SUPPRESS)  # run.sh's trap stops what is listed here
    a = ap.parse_args()
    if not 0 <= a.huge_value <= 512:
        ap.error("--huge-value takes 0 to 512 (MiB): Redis strings stop at 512 MiB")
    if not a.expire_base:
        a.expire_base = (int(time.time()) // 3600 + 25) * 3600 * 1000
    if not a.step_timeout:
        a.step_timeout = 30 if a.smoke else 3600
    a.server_bin = a.server_bin or ("valkey-server" if a.valkey else "redis-server")
    a.cli = a.cli or (shutil.which("valkey-cli") if a.valkey else None) or "redis-cli"
    a.migcheck = os.path.abspath(a.migcheck)
    if a.profile:
        a.profile = os.path.abspath(a.profile)
        if not shutil.which("perf"):
            log("--profile needs perf (apt-get install linux-perf)")
            return 1
    for tool in (a.server_bin, a.cli):
        if not shutil.which(tool):
            log("%s not found: install it (scripts/setup.sh)" % tool)
            return 1

    if a.nice is not None:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, a.nice)  # inherited by every child
        except OSError as e:
            log("--nice %d: %s" % (a.nice, e))
            return 1
        # With sched_autogroup (most desktop/VM kernels) niceness only weighs
        # within a session's group: take a session of our own and set its nice.
        try:
            os.setsid()
        except OSError:
            pass
        try:
            with open("/proc/self/autogroup", "w") as fh:
                fh.write(str(a.nice))
        except OSError:
            pass
    atexit.register(stop_all)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda s, _f: sys.exit(128 + s))

    started = datetime.datetime.now()
    b = Bench(a)
    if not a.keep:
        atexit.register(shutil.rmtree, b.tmp, True)
    result = {"date": started.isoformat(timespec="seconds"), "machine": machine_info(),
              "params": {k: v for k, v in vars(a).items() if k != "pid_dir"}}
    try:
        ensure_migcheck(a)
        warn_if_stale(a.migcheck)
        v = subprocess.run([a.migcheck, "--version"], capture_output=True, text=True)
        result["migcheck_version"] = v.stdout.strip()
        sv = subprocess.run([a.server_bin, "--version"], capture_output=True, text=True)
        result["server_version"] = sv.stdout.strip()
        log("%s; %s; %d keys; temp dir %s" % (result["migcheck_version"], result["server_version"],
                                             a.keys, b.tmp))
        b.src = Server(a.server_bin, "source", b.tmp, a.pid_dir).start()
        b.dst = Server(a.server_bin, "target", b.tmp, a.pid_dir).start()
        b.rs, b.rd = b.src.client(a.step_timeout), b.dst.client(a.step_timeout)
        b.rs.config_set("repl-diskless-sync", "yes")
        b.rs.config_set("repl-diskless-sync-delay", "0")
        log("source %s, target %s" % (b.src.uri, b.dst.uri))
        b.run_main()
        if a.memory_scaling:
            b.run_scaling()
        if a.huge_value:
            b.run_huge()
    except (StepError, redis.RedisError, subprocess.CalledProcessError, OSError) as e:
        b.fail("run", "%s: %s" % (type(e).__name__, e))
    finally:
        stop_all()

    f = b.figures()
    r = b.ratios(f)
    g = b.goals(r)
    result.update({"keys": getattr(b, "keys", None), "load": getattr(b, "load_info", None),
                   "steps": f, "ratios": r, "goals": g,
                   "checks": getattr(b, "checks", {}), "failures": b.failures,
                   "ok": not b.failures})
    print_report(b, f, r, g, a.smoke)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    paths = [os.path.join(HERE, "results", started.strftime("%Y%m%dT%H%M%S") + ".json")]
    if a.json:
        paths.append(a.json)
    def tidy(x):
        if isinstance(x, float):
            return round(x, 6)
        if isinstance(x, dict):
            return {k: tidy(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [tidy(v) for v in x]
        return x
    result = tidy(result)
    for p in paths:
        with open(p, "w") as fh:
            json.dump(result, fh, indent=2, sort_keys=False, default=str)
            fh.write("\n")
    log("results written to %s" % ", ".join(paths))
    if b.failures:
        for x in b.failures:
            log("step failed: %s: %s" % (x["step"], x["error"]))
        return 1
    if a.smoke:
        log("smoke run OK: every step ran, migcheck exit codes were right")
        return 0
    if a.strict and any(x["status"] == "FAIL" for x in g):
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
