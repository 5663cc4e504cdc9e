"""gunicorn settings (read from the working directory). The command line in the manifests
(bind, workers, timeouts) takes precedence over anything here."""
import os
import shutil
import tempfile

# Multiprocess metrics need a directory shared by the workers; /tmp is the only writable path.
_metrics_dir = os.path.join(tempfile.gettempdir(), "prometheus-multiproc")
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", _metrics_dir)
# gunicorn's worker heartbeat files and its control socket (default under $HOME, which is / for
# a uid without a passwd entry) go to /tmp too, never to the read-only root.
worker_tmp_dir = tempfile.gettempdir()
control_socket = os.path.join(tempfile.gettempdir(), "gunicorn.ctl")
accesslog = "-"
# Behind the Service and the ingress: trust X-Forwarded-* as FORWARDED_ALLOW_IPS says.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def on_starting(server):
    # Counts of a previous run of this container must not leak into the new one.
    shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
