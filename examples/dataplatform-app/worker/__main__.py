"""Command line of the data worker.

  python -m worker run --once [--tasks ingest,retention,features]     one run (the CronJob)
  python -m worker run --interval 3600 [--health-port 8080]           continuous mode (a Deployment)

Exit status 0 when every task succeeded, 1 when one failed, 2 on bad usage or settings.
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from dataplatform.settings import Settings, SettingsError, configure_logging

from .tasks import TASKS, run_tasks

log = logging.getLogger("dataplatform.worker")


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m worker", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the tasks once or on an interval")
    mode = run.add_mutually_exclusive_group(required=True)
    mode.add_argument("--once", action="store_true", help="run the tasks once and exit")
    mode.add_argument("--interval", type=int, metavar="SECONDS", help="run the tasks every SECONDS until stopped")
    run.add_argument("--tasks", default=",".join(TASKS), help=f"comma-separated, from {', '.join(TASKS)} (default: all)")
    run.add_argument("--health-port", type=int, metavar="PORT", help="continuous mode: serve GET /health on PORT")
    a = p.parse_args(argv)
    a.task_list = [t.strip() for t in a.tasks.split(",") if t.strip()]
    unknown = [t for t in a.task_list if t not in TASKS]
    if unknown or not a.task_list:
        p.error(f"--tasks: unknown task(s) {', '.join(unknown) or '(none given)'}; expected some of {', '.join(TASKS)}")
    if a.interval is not None and a.interval < 1:
        p.error("--interval must be at least 1 second")
    return a


def serve_health(port: int, state: dict) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            ok = self.path == "/health" and state["healthy"]
            self.send_response(200 if ok else (404 if self.path != "/health" else 503))
            self.end_headers()
            self.wfile.write(b"ok\n" if ok else b"unhealthy\n")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()


def main(argv: list[str]) -> int:
    a = parse_args(argv)
    try:
        settings = Settings.from_env(need_redis=True, need_features="features" in a.task_list)
    except SettingsError as exc:
        print(f"worker: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    if a.once:
        return 0 if run_tasks(settings, a.task_list) else 1

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    state = {"healthy": True}
    if a.health_port:
        serve_health(a.health_port, state)
    while not stop.is_set():
        state["healthy"] = run_tasks(settings, a.task_list)
        stop.wait(a.interval)
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
