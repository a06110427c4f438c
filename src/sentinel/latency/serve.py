"""Ray Serve for the latency stage: started and stopped by the stage, on loopback, reaped on death.

    with ServeInstance(host="127.0.0.1", num_cpus=1) as inst:
        url = inst.deploy(model_cfg, min_replicas=0, max_replicas=1, downscale_delay_s=30, replica_cpus=1)
        ...                                   # POST url with a job's JSON

Local by default (a Ray instance limited to `num_cpus`, so replicas cannot take every core); with
RAY_ADDRESS set it joins that cluster and removes only its own applications. A local run tags all
its processes with a token and hands a watchdog (watchdog.py) the other end of a pipe, so a
SIGKILLed stage leaves no serving process behind; each start first reaps orphans of dead runs.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any

from sentinel.latency import watchdog
from sentinel.latency.server import application, check_loopback

SERVE_LOG_LEVEL = "WARNING"


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class ServeInstance:
    """Ray (local or RAY_ADDRESS) plus Serve's HTTP proxy on `host`; stop() tears all of it down."""

    def __init__(self, host: str, num_cpus: int):
        self.host, self.num_cpus = check_loopback(host), num_cpus
        self.cluster = os.environ.get("RAY_ADDRESS") or None
        self.apps: list[str] = []
        self._watchdog: subprocess.Popen | None = None
        self._temp_dir: str | None = None
        self.url = ""

    def __enter__(self) -> ServeInstance:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> str:
        import ray
        from ray import serve

        if self.cluster is None:
            watchdog.reap_orphans()
            self._start_local_ray(ray)
        else:
            ray.init(address=self.cluster, log_to_driver=False, configure_logging=False)
        try:
            port = free_port(self.host)
            serve.start(http_options={"host": self.host, "port": port},
                        logging_config={"log_level": SERVE_LOG_LEVEL})
        except BaseException:
            self.stop()
            raise
        self.url = f"http://{self.host}:{port}"
        return self.url

    def _start_local_ray(self, ray: Any) -> None:
        token = watchdog.token_for(os.getpid())
        temp_dir = self._temp_dir = tempfile.mkdtemp(prefix="sls-", dir="/tmp")  # short: Ray's socket paths
        env = {k: v for k, v in os.environ.items() if k != watchdog.TOKEN_ENV}
        self._watchdog = subprocess.Popen([sys.executable, "-m", "sentinel.latency.watchdog", token, temp_dir],
                                          stdin=subprocess.PIPE, env=env, start_new_session=True)
        os.environ[watchdog.TOKEN_ENV] = token  # inherited by every Ray process started below
        try:
            ray.init(num_cpus=self.num_cpus, include_dashboard=False, log_to_driver=False,
                     configure_logging=False, _node_ip_address=self.host, _temp_dir=temp_dir)
        except BaseException:
            self.stop()
            raise
        finally:
            os.environ.pop(watchdog.TOKEN_ENV, None)

    def deploy(self, model_cfg: Any, *, min_replicas: int, max_replicas: int, downscale_delay_s: float,
               replica_cpus: float, name: str | None = None, kind: str = "image") -> str:
        """Deploy one model at /<name> (the model's name by default); returns its URL. Replicas
        start lazily when min_replicas=0. `kind`: image, video or tryon (kinds.py)."""
        from ray import serve

        name = name or model_cfg.name
        app = application(model_cfg, min_replicas=min_replicas, max_replicas=max_replicas,
                          downscale_delay_s=downscale_delay_s, replica_cpus=replica_cpus, name=name, kind=kind)
        serve.run(app, name=name, route_prefix=f"/{name}")
        self.apps.append(name)
        return f"{self.url}/{name}"

    def remove(self, name: str) -> None:
        """Undeploy one model, freeing its replicas' CPUs for the next model."""
        from ray import serve

        if name in self.apps:
            serve.delete(name)
            self.apps.remove(name)

    def running_replicas(self, name: str) -> int:
        from ray import serve

        app = serve.status().applications.get(name)
        if app is None:
            return 0
        return sum(d.replica_states.get("RUNNING", 0) for d in app.deployments.values())

    def wait_idle(self, name: str, timeout_s: float) -> bool:
        """Wait until the model has no running replica (scaled to zero); False on timeout."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.running_replicas(name) == 0:
                return True
            time.sleep(0.2)
        return False

    def stop(self) -> None:
        """Delete our apps (cluster) or shut Serve and Ray down and reap every tagged process."""
        import ray

        try:
            if ray.is_initialized():
                from ray import serve

                if self.cluster is None:
                    serve.shutdown()
                else:
                    for name in list(self.apps):
                        self.remove(name)
        finally:
            if ray.is_initialized():
                ray.shutdown()
            if self._watchdog is not None:
                self._watchdog.stdin.close()  # the watchdog reaps whatever Ray left behind
                self._watchdog.wait(timeout=watchdog.REAP_FOR_S + 5)
                self._watchdog = None
            if self._temp_dir is not None:  # again: this process may have written logs after the watchdog
                watchdog.remove_tree(self._temp_dir)
