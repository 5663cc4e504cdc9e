#!/usr/bin/env python3
"""Run one container from a docker-archive tarball with runc, hardened the way charts/pod.ts
hardens pods: a uid/gid of our choosing, read-only root filesystem, no capabilities, no new
privileges, writable paths as tmpfs, files and directories bind-mounted where the manifests mount
Secrets and ConfigMaps. For checking images without a kubelet.

  ocirun.py unpack IMAGE.tar DIR          unpack the image's layers into DIR/rootfs (once; cached)
  ocirun.py run --bundle DIR --name N [--uid U] [--writable PATH]... [--bind SRC:DST[:ro]]...
               [--env K=V]... [--netns PATH | --new-netns] [--cwd D] [--] [ARGV...]
      Writes DIR/containers/<N>/config.json and execs `runc run` on it, in the foreground.
      Without ARGV, the image's entrypoint and command run, as a container runtime would.
      --new-netns creates a network namespace with only loopback (brought up); --netns joins one.

Traffic stays on loopback inside namespaces made here: nothing on the host network changes.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile


RUNC_ROOT = os.environ.get("STACKPORT_RUNC_ROOT", "/run/stackport-ocirun")


def die(msg: str) -> None:
    print(f"ocirun: {msg}", file=sys.stderr)
    sys.exit(2)


def image_config(tar_path: str) -> tuple[dict, list[str]]:
    with tarfile.open(tar_path) as t:
        manifest = json.load(t.extractfile("manifest.json"))
        if len(manifest) != 1:
            die(f"{tar_path}: expected one image, found {len(manifest)}")
        config = json.load(t.extractfile(manifest[0]["Config"]))
    return config, manifest[0]["Layers"]


def unpack(tar_path: str, bundle: str) -> None:
    rootfs = os.path.join(bundle, "rootfs")
    stamp = os.path.join(bundle, ".unpacked")
    key = f"{os.path.realpath(tar_path)} {os.stat(tar_path).st_mtime_ns} {os.stat(tar_path).st_size}"
    if os.path.exists(stamp) and open(stamp).read() == key:
        return
    shutil.rmtree(bundle, ignore_errors=True)
    os.makedirs(rootfs)
    config, layers = image_config(tar_path)
    work = os.path.join(bundle, ".layers")
    os.makedirs(work)
    subprocess.run(["tar", "-xf", tar_path, "-C", work, *layers], check=True)
    for layer in layers:
        subprocess.run(["tar", "-xpf", os.path.join(work, layer), "-C", rootfs, "--numeric-owner"], check=True)
        # Whiteouts: ".wh.NAME" deletes NAME from lower layers, ".wh..wh..opq" empties the directory.
        for dirpath, dirnames, filenames in os.walk(rootfs):
            for f in filenames:
                if not f.startswith(".wh."):
                    continue
                os.remove(os.path.join(dirpath, f))
                if f == ".wh..wh..opq":
                    continue
                victim = os.path.join(dirpath, f[4:])
                if os.path.isdir(victim) and not os.path.islink(victim):
                    shutil.rmtree(victim)
                elif os.path.lexists(victim):
                    os.remove(victim)
    shutil.rmtree(work)
    with open(os.path.join(bundle, "image-config.json"), "w") as f:
        json.dump(config, f)
    with open(stamp, "w") as f:
        f.write(key)


def run(a: argparse.Namespace) -> None:
    cfg = json.load(open(os.path.join(a.bundle, "image-config.json")))["config"]
    argv = a.argv[1:] if a.argv[:1] == ["--"] else a.argv
    if not argv:
        argv = (cfg.get("Entrypoint") or []) + (cfg.get("Cmd") or [])
    if not argv:
        die("no command: the image has no entrypoint or cmd and none was given")
    env = list(cfg.get("Env") or [])
    for kv in a.env:
        k = kv.split("=", 1)[0]
        env = [e for e in env if e.split("=", 1)[0] != k] + [kv]
    if not any(e.startswith("HOME=") for e in env):
        env.append("HOME=/")
    uid = a.uid if a.uid is not None else int((cfg.get("User") or "0").split(":")[0])
    mounts = [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=268435456"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
    ]
    # Like an emptyDir: a fresh host directory, mode 2777, group = the pod's fsGroup (here: uid).
    scratch = os.path.join(a.bundle, "containers", a.name, "scratch")
    shutil.rmtree(scratch, ignore_errors=True)
    for path in a.writable:
        src = os.path.join(scratch, path.strip("/").replace("/", "-") or "root")
        os.makedirs(src)
        os.chown(src, 0, uid)
        os.chmod(src, 0o2777)
        mounts.append({"destination": path, "type": "bind", "source": src, "options": ["rbind", "rw", "nosuid", "nodev"]})
    for spec in a.bind:
        parts = spec.split(":")
        if len(parts) not in (2, 3) or not os.path.exists(parts[0]):
            die(f"--bind {spec}: expected an existing SRC:DST[:ro]")
        mounts.append({"destination": parts[1], "type": "bind", "source": os.path.abspath(parts[0]),
                       "options": ["rbind", "ro" if parts[2:] == ["ro"] else "rw"]})
    namespaces = [{"type": t} for t in ("pid", "ipc", "uts", "mount")]
    hooks = {}
    if a.netns:
        namespaces.append({"type": "network", "path": a.netns})
    else:
        namespaces.append({"type": "network"})
        # A new network namespace starts with loopback down.
        hooks = {"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", 'pid=$(sed -n \'s/.*"pid": *\\([0-9]*\\).*/\\1/p\'); exec nsenter -t "$pid" -n ip link set lo up']}]}
    spec = {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": uid, "gid": uid, "additionalGids": [uid]},
            "args": argv,
            "env": env,
            "cwd": a.cwd or cfg.get("WorkingDir") or "/",
            "capabilities": {"bounding": [], "effective": [], "permitted": []},
            "noNewPrivileges": True,
        },
        "root": {"path": os.path.abspath(os.path.join(a.bundle, "rootfs")), "readonly": True},
        "hostname": a.name,
        "mounts": mounts,
        "hooks": hooks,
        "linux": {
            "namespaces": namespaces,
            "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
        },
    }
    # runc reads config.json from the bundle (also for exec): one directory per container, all
    # sharing the unpacked rootfs, which is mounted read-only.
    bundle = os.path.join(a.bundle, "containers", a.name)
    os.makedirs(bundle, exist_ok=True)
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(spec, f, indent=1)
    # A state directory of our own, apart from any other runc user on the machine.
    os.execvp("runc", ["runc", "--root", RUNC_ROOT, "run", "--bundle", bundle, a.name])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    u = sub.add_parser("unpack")
    u.add_argument("image")
    u.add_argument("bundle")
    r = sub.add_parser("run")
    r.add_argument("--bundle", required=True)
    r.add_argument("--name", required=True)
    r.add_argument("--uid", type=int)
    r.add_argument("--writable", action="append", default=[])
    r.add_argument("--bind", action="append", default=[])
    r.add_argument("--env", action="append", default=[])
    r.add_argument("--netns")
    r.add_argument("--cwd")
    r.add_argument("argv", nargs=argparse.REMAINDER)
    a = p.parse_args()
    if a.cmd == "unpack":
        if not os.path.isfile(a.image):
            die(f"{a.image}: no such image tarball (run scripts/images/build.sh)")
        unpack(a.image, a.bundle)
    else:
        if not os.path.isfile(os.path.join(a.bundle, "image-config.json")):
            die(f"{a.bundle}: not an unpacked bundle (run: ocirun.py unpack IMAGE.tar {a.bundle})")
        run(a)


if __name__ == "__main__":
    main()
