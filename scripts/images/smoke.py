#!/usr/bin/env python3
"""Runs the synthesized reference stack's pods from the built images with runc, as their
manifests say (command, args, env with Secret references and $(VAR) expansion, volumes, uid,
read-only root, probes), and checks that the application works: PostgreSQL and Redis become
ready, the migration completes, wait-for-migrate releases the API, the API answers /health and a
database-backed request, the worker writes rows the API then returns, the dashboard is healthy and
its login can SELECT but not INSERT, Redis keeps its data across SIGKILL, the backup CronJob writes
its dumps (prod), and the connectivity stand-in reaches what the API's environment names.

Not a kubelet: every pod shares one new network namespace (loopback only) and reaches the others
by their Service names through an /etc/hosts file; no Services, DNS or NetworkPolicies. That is
what the real node (test:runtime) proves. Usage, as root, after `npm run synth` and
scripts/images/build.sh:

  python3 scripts/images/smoke.py [--keep]

Exit status 0 when every check passed. Nothing outside the namespace it creates is touched.
"""
from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OCIRUN = os.path.join(REPO, "scripts", "images", "ocirun.py")
CACHE = os.environ.get("STACKPORT_CACHE_DIR") or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "stackport")
IMAGES = os.path.join(CACHE, "images")
RUNC_ROOT = os.environ.get("STACKPORT_RUNC_ROOT", "/run/stackport-ocirun")
# Images in the manifests -> the tarball that provides them (stand-ins through the image override).
IMAGE_FOR = [
    (re.compile(r"(^|/)postgres:"), "postgres-standin"),
    (re.compile(r"(^|/)redis:"), "redis-standin"),
    (re.compile(r"dataplatform-api:"), "dataplatform-api"),
    (re.compile(r"dataplatform-worker:"), "dataplatform-worker"),
    (re.compile(r"dataplatform-dashboard:"), "dataplatform-dashboard"),
]
SERVICE_NAMES = ["postgres", "redis", "api", "dashboard", "postgres-0.postgres-headless", "redis-0.redis-headless"]

results: list[tuple[bool, str]] = []


def check(ok: bool, what: str, detail: str = "") -> bool:
    results.append((ok, what))
    print(f"{'PASS' if ok else 'FAIL'} {what}{'' if ok or not detail else chr(10) + detail[-3000:]}", flush=True)
    return ok


def manifests(env: str) -> list[dict]:
    path = os.path.join(REPO, "dist", env, "dataplatform.k8s.yaml")
    if not os.path.exists(path):
        sys.exit(f"smoke: {path} missing; run `npm run synth` first")
    js = "const Y=require('yaml');console.log(JSON.stringify(Y.parseAllDocuments(require('fs').readFileSync(process.argv[1],'utf8')).map(d=>d.toJSON())))"
    return json.loads(subprocess.check_output(["node", "-e", js, path], cwd=REPO))


def find(docs: list[dict], kind: str, name: str) -> dict:
    for d in docs:
        if d["kind"] == kind and d["metadata"]["name"] == name:
            return d
    sys.exit(f"smoke: no {kind}/{name} in the manifests")


def pod_spec(obj: dict) -> dict:
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return obj["spec"]["template"]["spec"]


class Stack:
    def __init__(self, work: str, docs: list[dict]):
        self.work = work
        self.docs = docs
        self.secrets: dict[str, dict[str, str]] = {}
        self.procs: dict[str, subprocess.Popen] = {}
        # The pod sandbox's part: a process holding a new network namespace, loopback up.
        self.sandbox = subprocess.Popen(["unshare", "--net", "--", "sleep", "infinity"], start_new_session=True)
        time.sleep(0.2)
        self.netns_pid = self.sandbox.pid
        subprocess.run(["nsenter", "-t", str(self.netns_pid), "-n", "ip", "link", "set", "lo", "up"], check=True)
        self.hosts = os.path.join(work, "hosts")
        with open(self.hosts, "w") as f:
            f.write("127.0.0.1 localhost " + " ".join(SERVICE_NAMES) + "\n::1 localhost\n")
        os.chmod(self.hosts, 0o644)

    # -------------------------------------------------------------- inputs
    def secret(self, name: str, key: str) -> str:
        # As `stackport secrets` makes them: random passwords, placeholders for external API keys.
        s = self.secrets.setdefault(name, {})
        if key not in s:
            raw = base64.urlsafe_b64encode(secrets.token_bytes(24)).decode().rstrip("=")
            s[key] = f"placeholder-{raw[:8]}" if name == "external-apis" else raw
        return s[key]

    def bundle(self, image: str) -> str:
        for pattern, name in IMAGE_FOR:
            if pattern.search(image):
                tar = os.path.join(IMAGES, f"{name}.tar")
                bundle = os.path.join(CACHE, "ocirun", name)
                subprocess.run([sys.executable, OCIRUN, "unpack", tar, bundle], check=True)
                return bundle
        raise SystemExit(f"smoke: no image built for {image}")

    def env(self, c: dict) -> list[str]:
        values: dict[str, str] = {}
        for ref in c.get("envFrom") or []:
            values.update(find(self.docs, "ConfigMap", ref["configMapRef"]["name"]).get("data", {}))
        for e in c.get("env") or []:
            if "valueFrom" in e:
                ref = e["valueFrom"]["secretKeyRef"]
                values[e["name"]] = self.secret(ref["name"], ref["key"])
            else:
                # $(VAR) expands to an earlier variable, as the kubelet does; $$ escapes.
                values[e["name"]] = re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                                           lambda m: "$" if m.group(0) == "$$" else values.get(m.group(1), m.group(0)), e["value"])
        return [f"{k}={v}" for k, v in values.items()]

    def volume_dir(self, pod: str, spec: dict, vol: dict, gid: int) -> str:
        d = os.path.join(self.work, "pods", pod, "volumes", vol["name"])
        if "persistentVolumeClaim" in vol:
            d = os.path.join(self.work, "claims", vol["persistentVolumeClaim"]["claimName"])
        if os.path.isdir(d):
            return d
        os.makedirs(d)

        def files(items: dict[str, str], mode: int) -> None:
            for path, content in items.items():
                p = os.path.join(d, path)
                with open(p, "w") as f:
                    f.write(content)
                os.chown(p, 0, gid)
                os.chmod(p, mode)

        if "emptyDir" in vol or "persistentVolumeClaim" in vol:
            os.chown(d, 0, gid)
            os.chmod(d, 0o2777)
        elif "configMap" in vol:
            data = find(self.docs, "ConfigMap", vol["configMap"]["name"]).get("data", {})
            files(data, vol["configMap"].get("defaultMode", 0o644))
        elif "secret" in vol:
            sv = vol["secret"]
            keys = [(i["key"], i["path"]) for i in sv["items"]] if sv.get("items") else [("password", "password")]
            files({p: self.secret(sv["secretName"], k) for k, p in keys}, sv.get("defaultMode", 0o644))
        elif "projected" in vol:
            out = {}
            for src in vol["projected"]["sources"]:
                for i in src["secret"]["items"]:
                    out[i["path"]] = self.secret(src["secret"]["name"], i["key"])
            files(out, vol["projected"].get("defaultMode", 0o644))
        else:
            raise SystemExit(f"smoke: volume type of {vol['name']} not supported")
        return d

    # -------------------------------------------------------------- containers
    def start(self, pod: str, spec: dict, c: dict, claims: dict[str, str] | None = None) -> str:
        name = f"smoke-{os.getpid()}-{pod}-{c['name']}"
        sc = {**spec.get("securityContext", {}), **c.get("securityContext", {})}
        uid = sc["runAsUser"]
        assert sc.get("readOnlyRootFilesystem") and c["securityContext"]["capabilities"]["drop"] == ["ALL"], f"{pod}/{c['name']} is not hardened"
        vols = {v["name"]: v for v in spec.get("volumes") or []}
        args = [sys.executable, OCIRUN, "run", "--bundle", self.bundle(c["image"]), "--name", name, "--uid", str(uid),
                "--bind", f"{self.hosts}:/etc/hosts:ro"]
        for m in c.get("volumeMounts") or []:
            if m["name"] in (claims or {}):
                src = claims[m["name"]]
            elif m["name"] in vols:
                src = self.volume_dir(pod, spec, vols[m["name"]], spec["securityContext"].get("fsGroup", uid))
            else:
                raise SystemExit(f"smoke: {pod}/{c['name']} mounts unknown volume {m['name']}")
            args += ["--bind", f"{src}:{m['mountPath']}{':ro' if m.get('readOnly') else ''}"]
        for kv in self.env(c):
            args += ["--env", kv]
        args += ["--netns", f"/proc/{self.netns_pid}/ns/net"]
        # Kubernetes: command replaces the entrypoint, args the image's cmd.
        cfg = json.load(open(os.path.join(self.bundle(c["image"]), "image-config.json")))["config"]
        argv = (c.get("command") or cfg.get("Entrypoint") or []) + (c.get("args") or ([] if c.get("command") else cfg.get("Cmd") or []))
        log = open(os.path.join(self.work, f"{pod}-{c['name']}.log"), "w")
        self.procs[name] = subprocess.Popen(args + ["--", *argv], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return name

    def log(self, name: str) -> str:
        pod_c = name.split("-", 2)[2]
        try:
            return open(os.path.join(self.work, f"{pod_c}.log")).read()
        except OSError:
            return ""

    def run_to_completion(self, pod: str, spec: dict, c: dict, timeout: float = 300, claims=None) -> tuple[int, str]:
        name = self.start(pod, spec, c, claims)
        try:
            code = self.procs[name].wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop(name, signal.SIGKILL)
            code = -1
        return code, self.log(name)

    def exec(self, name: str, argv: list[str], uid: int, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run(["runc", "--root", RUNC_ROOT, "exec", "--user", f"{uid}:{uid}", name, *argv],
                              capture_output=True, text=True, timeout=timeout)

    def http(self, url: str, timeout: float = 5) -> tuple[int, str]:
        """GET from inside the namespace (host names resolve to loopback there)."""
        for svc in SERVICE_NAMES:
            url = url.replace(f"//{svc}:", "//127.0.0.1:")
        code = ("import sys,urllib.request,urllib.error\ntry:\n r=urllib.request.urlopen(sys.argv[1],timeout=%d);print(r.status);print(r.read().decode())\n"
                "except urllib.error.HTTPError as e:\n print(e.code);print(e.read().decode())\nexcept Exception as e:\n print(0);print(e)") % timeout
        r = subprocess.run(["nsenter", "-t", str(self.netns_pid), "-n", sys.executable, "-c", code, url], capture_output=True, text=True, timeout=timeout + 5)
        status, _, body = r.stdout.partition("\n")
        return int(status or 0), body

    def probe(self, name: str, uid: int, p: dict) -> bool:
        if "exec" in p:
            return self.exec(name, p["exec"]["command"], uid, p.get("timeoutSeconds", 5) + 5).returncode == 0
        if "httpGet" in p:
            return self.http(f"http://127.0.0.1:{self.port}{p['httpGet']['path']}")[0] == 200
        raise SystemExit(f"smoke: probe {p} not supported")

    def wait_ready(self, name: str, c: dict, uid: int, timeout: float = 120) -> float:
        start = time.time()
        ports = {pp["name"]: pp["containerPort"] for pp in c.get("ports") or []}
        p = c["readinessProbe"]
        self.port = ports.get(p.get("httpGet", {}).get("port"), 0)
        while time.time() - start < timeout:
            if self.procs[name].poll() is not None:
                break
            if self.probe(name, uid, p):
                return time.time() - start
            time.sleep(0.5)
        return -1

    def stop(self, name: str, sig=signal.SIGTERM, wait: float = 30) -> None:
        subprocess.run(["runc", "--root", RUNC_ROOT, "kill", name, sig.name[3:]], capture_output=True)
        try:
            self.procs[name].wait(wait)
        except subprocess.TimeoutExpired:
            subprocess.run(["runc", "--root", RUNC_ROOT, "kill", name, "KILL"], capture_output=True)
            self.procs[name].wait(10)
        subprocess.run(["runc", "--root", RUNC_ROOT, "delete", "--force", name], capture_output=True)

    def stop_all(self) -> None:
        for name in reversed(list(self.procs)):
            if self.procs[name].poll() is None:
                self.stop(name, signal.SIGKILL, 10)
            subprocess.run(["runc", "--root", RUNC_ROOT, "delete", "--force", name], capture_output=True)
        self.sandbox.kill()
        self.sandbox.wait()


def uid_of(spec: dict, c: dict) -> int:
    return c.get("securityContext", {}).get("runAsUser") or spec["securityContext"]["runAsUser"]


def main() -> int:
    keep = "--keep" in sys.argv[1:]
    if os.geteuid() != 0:
        sys.exit("smoke: needs root (runc, namespaces)")
    docs = manifests("kind")
    work = tempfile.mkdtemp(prefix="stackport-smoke-")
    os.chmod(work, 0o755)
    s = Stack(work, docs)
    t0 = time.time()
    try:
        # ---- data services (StatefulSets: claims are directories that outlive the container)
        started = {}
        for name in ("postgres", "redis"):
            ss = find(docs, "StatefulSet", name)
            spec = pod_spec(ss)
            claims = {}
            for t in ss["spec"].get("volumeClaimTemplates") or []:
                d = os.path.join(work, "claims", f"{t['metadata']['name']}-{name}-0")
                os.makedirs(d)
                os.chown(d, 0, spec["securityContext"]["fsGroup"])
                os.chmod(d, 0o2777)
                claims[t["metadata"]["name"]] = d
            c = spec["containers"][0]
            cname = s.start(f"{name}-0", spec, c, claims)
            ready = s.wait_ready(cname, c, uid_of(spec, c))
            check(ready >= 0, f"{name}: ready on its readiness probe as uid {uid_of(spec, c)}, read-only root ({ready:.1f}s)", s.log(cname))
            started[name] = (cname, spec, c, claims)

        # ---- migrate Job
        spec = pod_spec(find(docs, "Job", "migrate"))
        code, log = s.run_to_completion("migrate", spec, spec["containers"][0])
        check(code == 0, "migrate: `alembic upgrade head` completed against PostgreSQL with the URL from the Secret", log)
        code, log = s.run_to_completion("migrate-again", spec, spec["containers"][0])
        check(code == 0, "migrate: running it again is harmless", log)

        # ---- API (wait-for-migrate first)
        spec = pod_spec(find(docs, "Deployment", "api"))
        for init in spec.get("initContainers") or []:
            code, log = s.run_to_completion("api", spec, init, timeout=60)
            check(code == 0, f"api: init container {init['name']} released the API", log)
        c = spec["containers"][0]
        api = s.start("api", spec, c)
        ready = s.wait_ready(api, c, uid_of(spec, c))
        check(ready >= 0, f"api: ready on /health ({ready:.1f}s)", s.log(api))
        status, body = s.http("http://api:8000/api/series")
        check(status == 200 and json.loads(body) == [], "api: /api/series answers from the database (empty before the worker ran)", body)

        # ---- worker (CronJob, run once as a Job)
        spec = pod_spec(find(docs, "CronJob", "worker"))
        for init in spec.get("initContainers") or []:
            code, log = s.run_to_completion("worker", spec, init, timeout=60)
            check(code == 0, f"worker: init container {init['name']} passed", log)
        code, log = s.run_to_completion("worker", spec, spec["containers"][0])
        check(code == 0, "worker: ingest, retention and features completed", log)
        status, body = s.http("http://api:8000/api/series")
        series = json.loads(body) if status == 200 else []
        check(len(series) == 4 and all(x["observations"] == 90 for x in series), "api: returns the rows the worker wrote (4 series x 90 days)", body)
        status, body = s.http("http://api:8000/api/series/UNRATE/observations?limit=5")
        check(status == 200 and len(json.loads(body)["observations"]) == 5, "api: observations of one series", body)
        status, body = s.http("http://api:8000/metrics")
        check(status == 200 and 'http_requests_total{method="GET",route="/api/series",status="200"}' in body,
              "api: /metrics counts requests under the names the alert rules use", body[-2000:])

        # ---- Redis has the worker's keys and keeps them across SIGKILL (append-only file)
        rname, rspec, rc, rclaims = started["redis"]
        cli = ["sh", "-c", 'REDISCLI_AUTH="$(cat /run/secrets/redis/password)" redis-cli -h 127.0.0.1 -n 1 exists dataplatform:worker:last_run']
        r = s.exec(rname, cli, uid_of(rspec, rc))
        check(r.stdout.strip() == "1", "redis: the worker wrote its keys in database 1", r.stdout + r.stderr)
        s.stop(rname, signal.SIGKILL)
        rname = s.start("redis-0", rspec, rc, rclaims)
        ready = s.wait_ready(rname, rc, uid_of(rspec, rc))
        r = s.exec(rname, cli, uid_of(rspec, rc))
        check(ready >= 0 and r.stdout.strip() == "1", f"redis: keys survive SIGKILL (ready again in {ready:.1f}s)", r.stdout + r.stderr + s.log(rname))

        # ---- dashboard
        spec = pod_spec(find(docs, "Deployment", "dashboard"))
        c = spec["containers"][0]
        dash = s.start("dashboard", spec, c)
        ready = s.wait_ready(dash, c, uid_of(spec, c))
        check(ready >= 0, f"dashboard: ready on /_stcore/health ({ready:.1f}s)", s.log(dash))
        login = ("import os,sqlalchemy as sa\nfrom dataplatform import db\ne=db.engine(os.environ['DATABASE_URL'])\n"
                 "with e.connect() as c:\n print(c.execute(sa.text('select count(*) from observations')).scalar())\n"
                 "try:\n with e.begin() as c: c.execute(sa.text(\"insert into series values ('X','x','x','x')\"))\n print('INSERTED')\n"
                 "except sa.exc.ProgrammingError as x:\n print('REFUSED', x.orig.sqlstate)")
        r = s.exec(dash, ["python", "-c", login], uid_of(spec, c))
        check(r.stdout.split() == ["360", "REFUSED", "42501"], "dashboard: its login can SELECT (360 rows) and cannot INSERT (42501)", r.stdout + r.stderr)

        # ---- postgres keeps data across a restart (preStop fast shutdown, then the same claim)
        pname, pspec, pc, pclaims = started["postgres"]
        r = s.exec(pname, pc["lifecycle"]["preStop"]["exec"]["command"], uid_of(pspec, pc), 60)
        s.stop(pname)
        pname = s.start("postgres-0", pspec, pc, pclaims)
        ready = s.wait_ready(pname, pc, uid_of(pspec, pc))
        # The hook's own exit status is 137: pg_ctl -w is still waiting when postgres, the
        # container's PID 1, exits and the kernel ends the PID namespace. What counts is that the
        # server shut down cleanly (no crash recovery on the next start).
        log = s.log(pname)
        check(r.returncode in (0, 137) and ready >= 0 and "Skipping initialization" in log and "database system was shut down at" in log,
              f"postgres: preStop shuts it down cleanly; restarted on the same claim without re-initializing or recovery ({ready:.1f}s)",
              f"preStop exit {r.returncode}: {r.stdout}{r.stderr}\n" + log)
        status, body = s.http("http://api:8000/api/series")
        check(status == 200 and len(json.loads(body)) == 4, "api: the rows survived the PostgreSQL restart", body)

        # ---- prod backup CronJob: pg_dump of every database into its claim
        prod = manifests("prod")
        bspec = pod_spec(find(prod, "CronJob", "postgres-backup"))
        s.docs = prod
        code, log = s.run_to_completion("postgres-backup", bspec, bspec["containers"][0])
        dumps = sorted(os.listdir(os.path.join(work, "claims", "postgres-backups"))) if code == 0 else []
        check(code == 0 and any(d.startswith("app-") for d in dumps) and any(d.startswith("features-") for d in dumps) and "last-success" in dumps,
              f"postgres-backup (prod): dumps written ({', '.join(dumps)})", log)
        s.docs = docs

        # ---- connectivity stand-in with the API's environment
        spec = pod_spec(find(docs, "Deployment", "api"))
        c = {**spec["containers"][0], "name": "connectivity", "image": "connectivity", "command": ["/connectivity", "--listen", "18000"], "args": None}
        IMAGE_FOR.append((re.compile(r"^connectivity$"), "connectivity"))
        conn = s.start("api-standin", spec, c)
        deadline = time.time() + 20
        status, body = 0, ""
        while time.time() < deadline and status != 200:
            status, body = s.http("http://127.0.0.1:18000/connectivity?require=all")
            time.sleep(0.5)
        targets = [t["address"] for t in json.loads(body)["targets"]] if body.startswith("{") else []
        check(status == 200 and targets == ["postgres:5432", "redis:6379"], f"connectivity: reached every connection the API's env names ({', '.join(targets)})", body + s.log(conn))
    finally:
        s.stop_all()
        if keep:
            print(f"smoke: kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    failed = [w for ok, w in results if not ok]
    print(f"smoke: {len(results) - len(failed)} of {len(results)} checks passed in {time.time() - t0:.0f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
