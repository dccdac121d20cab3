#!/usr/bin/env python3
"""Checks the Kubernetes manifests of this folder and runs, on this machine,
the command line each pod would run: the N indexes of the Indexed compare
Job as N concurrent processes, then the merge Job. What Kubernetes would
provide is stood in for: JOB_COMPLETION_INDEX per index, the Secret's keys
from this process's MIGCHECK_SOURCE_PASS / MIGCHECK_TARGET_PASS, the
controller-uid label from --job-id, the PVC mount /stores by --stores (a
local directory), and `migcheck` by --migcheck (first on PATH).

  run_local.py --migcheck build/migcheck --stores DIR \
      --source redis://127.0.0.1:6379 --target redis://127.0.0.1:6380 \
      [--set COMPARE_FLAGS="--rounds 1"] [--indexes 0,2]

Prints one JSON object: the exit code of every index and of the merge pod.
With --check-only, only the manifests are checked (no migcheck run).
No Kubernetes cluster, image registry or container runtime is used.
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import yaml

HERE = pathlib.Path(__file__).resolve().parent


def load(name):
    with open(HERE / name) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    if len(docs) != 1:
        sys.exit(f"{name}: expected one document, found {len(docs)}")
    return docs[0]


def fail(msg):
    sys.exit("manifest check failed: " + msg)


def container(job, name):
    spec = job["spec"]["template"]["spec"]
    if spec.get("restartPolicy") != "Never":
        fail(f"{name}: restartPolicy must be Never (a Job's retries are new pods)")
    sc = spec.get("securityContext", {})
    if not sc.get("runAsNonRoot") or sc.get("runAsUser") != 10001:
        fail(f"{name}: must run as the image's non-root user 10001")
    mounts = {}
    for v in spec["volumes"]:
        mounts[v["name"]] = v
    c = spec["containers"][0]
    stores = [m for m in c["volumeMounts"] if m["mountPath"] == "/stores"]
    if not stores or "persistentVolumeClaim" not in mounts[stores[0]["name"]]:
        fail(f"{name}: /stores must be the PVC")
    return c


def check():
    secret = load("secret.example.yaml")
    pvc = load("pvc.yaml")
    job = load("compare-job.yaml")
    merge = load("merge-job.yaml")
    if secret["kind"] != "Secret" or pvc["kind"] != "PersistentVolumeClaim":
        fail("secret.example.yaml / pvc.yaml kinds")
    if job["kind"] != "Job" or job["spec"].get("completionMode") != "Indexed":
        fail("compare-job.yaml must be an Indexed Job")
    c = container(job, "compare-job.yaml")
    env = {e["name"]: e for e in c["env"]}
    n = job["spec"]["completions"]
    if int(env["PARTITIONS"]["value"]) != n:
        fail(f"PARTITIONS ({env['PARTITIONS']['value']}) must equal completions ({n})")
    for var, key in (("MIGCHECK_SOURCE_PASS", "source-password"),
                     ("MIGCHECK_TARGET_PASS", "target-password")):
        ref = env.get(var, {}).get("valueFrom", {}).get("secretKeyRef")
        if not ref or ref["name"] != secret["metadata"]["name"] or key not in secret["stringData"]:
            fail(f"{var} must come from the Secret's {key}")
    claim = pvc["metadata"]["name"]
    for j in (job, merge):
        for v in j["spec"]["template"]["spec"]["volumes"]:
            if "persistentVolumeClaim" in v and v["persistentVolumeClaim"]["claimName"] != claim:
                fail(f"{j['metadata']['name']}: claim {v['persistentVolumeClaim']['claimName']}")
    return job, merge, n


def pod_env(c, index, args):
    env = {"PATH": f"{args.bindir}:/usr/bin:/bin", "TMPDIR": args.tmp}
    for e in c.get("env", []):
        if "value" in e:
            env[e["name"]] = e["value"]
            continue
        src = e["valueFrom"]
        if "secretKeyRef" in src:
            value = os.environ.get(e["name"])
            if value is not None:
                env[e["name"]] = value
        elif "fieldRef" in src:
            env[e["name"]] = args.job_id
    for kv in args.set:
        name, _, value = kv.partition("=")
        env[name] = value
    if args.source:
        env["SOURCE_URI"] = args.source
    if args.target:
        env["TARGET_URI"] = args.target
    if index is not None:
        env["JOB_COMPLETION_INDEX"] = str(index)
    return env


def script(c, stores):
    cmd = c["command"] + c["args"]
    if cmd[:2] != ["/bin/sh", "-c"]:
        fail("containers run /bin/sh -c SCRIPT")
    # The PVC's mount point is a local directory here.
    return ["/bin/sh", "-c", cmd[2].replace("/stores", stores)]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--migcheck")
    p.add_argument("--stores")
    p.add_argument("--source")
    p.add_argument("--target")
    p.add_argument("--job-id", default="local-run")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="override an env value of the manifests (as a kustomize patch would)")
    p.add_argument("--indexes", help="comma-separated indexes to run (default: all)")
    p.add_argument("--check-only", action="store_true")
    args = p.parse_args()
    job, merge, n = check()
    if args.check_only:
        print(json.dumps({"partitions": n}))
        return
    bindir = tempfile.mkdtemp(prefix="migcheck-k8s-bin-")
    os.symlink(os.path.abspath(args.migcheck), os.path.join(bindir, "migcheck"))
    args.bindir = bindir
    args.tmp = tempfile.mkdtemp(prefix="migcheck-k8s-tmp-")
    c = container(job, "compare-job.yaml")
    indexes = range(n) if not args.indexes else [int(i) for i in args.indexes.split(",")]
    pods = {i: subprocess.Popen(script(c, args.stores), env=pod_env(c, i, args),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for i in indexes}
    result = {"partitions": n, "indexes": {}}
    for i, pod in pods.items():
        out, err = pod.communicate(timeout=300)
        result["indexes"][str(i)] = {"exit": pod.returncode, "stderr": err}
    m = container(merge, "merge-job.yaml")
    pod = subprocess.run(script(m, args.stores), env=pod_env(m, None, args),
                         capture_output=True, text=True, timeout=300)
    result["merge"] = {"exit": pod.returncode, "stdout": pod.stdout, "stderr": pod.stderr}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
