"""Start and stop real servers on 127.0.0.1 for integration tests.

Debian's ``prometheus`` (optionally on a TSDB backfilled with ``promtool``),
``victoria-metrics`` and any other command-line server, on free ports, in temp
dirs, killed on teardown (and at interpreter exit, should a test crash).
Every wait has a deadline; a server that dies while starting fails with the
tail of its log.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Mapping, Sequence

LOCALHOST = "127.0.0.1"
_RUNNING: set["ServerProcess"] = set()


class ServerError(RuntimeError):
    """A test server could not be started or fed."""


def binary(name: str) -> str | None:
    """Absolute path of an installed binary, or None."""
    return shutil.which(name)


def require_binary(name: str) -> str:
    """The binary's path, or skip the calling test with a clear reason."""
    import pytest

    found = binary(name)
    if found is None:
        pytest.skip(f"'{name}' is not installed (Debian package; ./scripts/test installs it)")
    return found


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCALHOST, 0))
        return sock.getsockname()[1]


def http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    """(status, body) of a GET; status 0 when the connection failed."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, OSError):
        return 0, b""


def http_post(url: str, body: bytes, content_type: str = "text/plain", timeout: float = 30.0) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_until(check: Callable[[], bool], timeout: float = 20.0, interval: float = 0.1, what: str = "condition") -> None:
    """Poll ``check`` until it is true or raise ServerError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise ServerError(f"timed out after {timeout:g}s waiting for {what}")


class ServerProcess:
    """One server subprocess: start, wait until ready, stop/kill, restart."""

    def __init__(self, name: str, command: Sequence[str], port: int, ready_path: str, workdir: Path) -> None:
        self.name = name
        self.command = list(command)
        self.port = port
        self.ready_path = ready_path
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.workdir / f"{name}.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{LOCALHOST}:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def start(self, timeout: float = 30.0) -> "ServerProcess":
        if self.running:
            return self
        log = open(self.log_path, "ab")
        try:
            self.process = subprocess.Popen(
                self.command, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )
        finally:
            log.close()
        _RUNNING.add(self)
        try:
            self.wait_ready(timeout)
        except ServerError:
            self.stop()
            raise
        return self

    def is_ready(self) -> bool:
        status, _ = http_get(self.url + self.ready_path, timeout=1.0)
        return status == 200

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise ServerError(f"{self.name} exited while starting:\n{self.log_tail()}")
            if self.is_ready():
                return
            time.sleep(0.1)
        raise ServerError(f"{self.name} not ready after {timeout:g}s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL (a crash), then reap."""
        self._signal(signal.SIGKILL, wait=5.0)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds."""
        if self.process is not None and self.process.poll() is None:
            self._signal(signal.SIGTERM, wait=timeout)
        if self.process is not None and self.process.poll() is None:
            self._signal(signal.SIGKILL, wait=5.0)
        _RUNNING.discard(self)

    def _signal(self, sig: int, wait: float) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, sig)  # our own session: the server and its children
            except ProcessLookupError:
                pass
        try:
            self.process.wait(wait)
        except subprocess.TimeoutExpired:
            pass

    def restart(self, timeout: float = 30.0) -> "ServerProcess":
        self.stop()
        return self.start(timeout)

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@atexit.register
def _stop_leftovers() -> None:
    for server in list(_RUNNING):
        server.stop(timeout=2.0)


# -- Prometheus ----------------------------------------------------------------
def prometheus_config(scrape_targets: Sequence[str] = (), scrape_interval: str = "1s", rule_files: Sequence[str] = ()) -> str:
    """A prometheus.yml scraping ``host:port`` targets (job ``voicetop``)."""
    lines = ["global:", f"  scrape_interval: {scrape_interval}", f"  evaluation_interval: {scrape_interval}"]
    if rule_files:
        lines.append("rule_files:")
        lines.extend(f"  - {path}" for path in rule_files)
    lines.append("scrape_configs:")
    if scrape_targets:
        lines += [
            "  - job_name: voicetop",
            f"    scrape_interval: {scrape_interval}",
            "    static_configs:",
            "      - targets: [" + ", ".join(f"'{t}'" for t in scrape_targets) + "]",
        ]
    else:
        lines[-1] = "scrape_configs: []"
    return "\n".join(lines) + "\n"


class PrometheusServer(ServerProcess):
    """Debian's ``prometheus`` on 127.0.0.1 with a given config and TSDB folder."""

    def __init__(self, workdir: Path, config_text: str | None = None, tsdb: Path | None = None,
                 port: int | None = None, extra_args: Sequence[str] = ()) -> None:
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = workdir / "prometheus.yml"
        self.config_path.write_text(config_text or prometheus_config())
        self.tsdb = Path(tsdb) if tsdb else workdir / "tsdb"
        port = port or free_port()
        command = [
            binary("prometheus") or "prometheus",
            f"--config.file={self.config_path}",
            f"--storage.tsdb.path={self.tsdb}",
            f"--web.listen-address={LOCALHOST}:{port}",
            "--storage.tsdb.retention.time=100y",
            "--web.enable-lifecycle",
            "--log.level=warn",
            *extra_args,
        ]
        super().__init__("prometheus", command, port, "/-/ready", workdir)

    def reload(self) -> None:
        status, body = http_post(self.url + "/-/reload", b"")
        if status != 200:
            raise ServerError(f"prometheus reload failed: HTTP {status} {body[:200]!r}")

    def query(self, promql: str, at: float | None = None) -> list:
        """Instant query result (for test assertions), at ``at`` or the server's now.

        Backfilled data needs ``at``: "now" finds nothing once the last sample is
        older than the 5-minute lookback.
        """
        import json
        from urllib.parse import quote

        when = "" if at is None else f"&time={at}"
        status, body = http_get(f"{self.url}/api/v1/query?query={quote(promql)}{when}", timeout=10)
        if status != 200:
            raise ServerError(f"query failed: HTTP {status} {body[:200]!r}")
        return json.loads(body)["data"]["result"]


def backfill(openmetrics_text: str, tsdb: Path, workdir: Path, timeout: float = 120.0) -> None:
    """``promtool tsdb create-blocks-from openmetrics`` into ``tsdb``."""
    promtool = binary("promtool") or "promtool"
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    source = workdir / "backfill.om"
    source.write_text(openmetrics_text)
    tsdb.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(source), str(tsdb)],
        capture_output=True, text=True, timeout=timeout,
    )
    if done.returncode != 0:
        raise ServerError(f"promtool backfill failed ({done.returncode}): {(done.stderr or done.stdout)[-800:]}")
    source.unlink()


# -- VictoriaMetrics -----------------------------------------------------------
class VictoriaServer(ServerProcess):
    """Debian's single-node ``victoria-metrics`` on 127.0.0.1."""

    def __init__(self, workdir: Path, port: int | None = None, extra_args: Sequence[str] = ()) -> None:
        workdir = Path(workdir)
        self.data = workdir / "vmdata"
        port = port or free_port()
        command = [
            binary("victoria-metrics") or "victoria-metrics",
            f"-httpListenAddr={LOCALHOST}:{port}",
            f"-storageDataPath={self.data}",
            "-retentionPeriod=100y",
            "-search.latencyOffset=0s",
            "-search.disableCache",
            "-loggerLevel=ERROR",
            *extra_args,
        ]
        super().__init__("victoria-metrics", command, port, "/health", workdir)

    def import_prometheus(self, text: str) -> None:
        """POST exposition text with ms timestamps, then flush so queries see it."""
        status, body = http_post(self.url + "/api/v1/import/prometheus", text.encode())
        if status not in (200, 204):
            raise ServerError(f"victoria-metrics import failed: HTTP {status} {body[:300]!r}")
        self.flush()

    def flush(self) -> None:
        status, body = http_get(self.url + "/internal/force_flush", timeout=30)
        if status != 200:
            raise ServerError(f"victoria-metrics flush failed: HTTP {status} {body[:200]!r}")


def backfill_rules(
    rules: Sequence[Mapping[str, object]], tsdb: Path, workdir: Path, start: float, end: float,
    interval: float = 15.0, timeout: float = 600.0,
) -> None:
    """Evaluate recording ``rules`` over ``[start, end]`` into ``tsdb`` (``promtool tsdb create-blocks-from rules``).

    promtool evaluates against a running Prometheus and cannot read the rules
    it is writing, so rules that read other recorded series go in a second
    pass, after the first pass's blocks are in the TSDB.  Both passes use one
    file and group name: the evaluation times (offset within the interval by a
    hash of them) are then the same for every rule, as in one loaded group.
    """
    from voicetop.alerting import yaml

    recorded = {str(rule["record"]) for rule in rules}
    first = [rule for rule in rules if not any(name in str(rule["expr"]) for name in recorded)]
    levels = [first, [rule for rule in rules if rule not in first]]
    promtool = binary("promtool") or "promtool"
    workdir = Path(workdir)
    rule_file = workdir / "recording-rules.yml"
    for number, level in enumerate(level for level in levels if level):
        folder = workdir / f"rules-{number}"
        folder.mkdir(parents=True, exist_ok=True)
        rule_file.write_text(yaml.dump({"groups": [{"name": "backfill", "rules": [dict(r) for r in level]}]}))
        out = folder / "blocks"
        server = PrometheusServer(folder / "prometheus", tsdb=tsdb)
        server.start(timeout=120)
        try:
            done = subprocess.run(
                [promtool, "tsdb", "create-blocks-from", "rules", f"--start={int(start)}", f"--end={int(end)}",
                 f"--url={server.url}", f"--eval-interval={interval:g}s", f"--output-dir={out}", str(rule_file)],
                capture_output=True, text=True, timeout=timeout,
            )
        finally:
            server.stop()
        if done.returncode != 0:
            raise ServerError(f"promtool rules backfill failed ({done.returncode}): {(done.stderr or done.stdout)[-800:]}")
        for block in out.iterdir():
            shutil.move(str(block), str(tsdb / block.name))


def recorded_prometheus(
    rules: Sequence[Mapping[str, object]], workdir: Path, tsdb: Path, start: float, end: float, interval: float = 15.0
) -> PrometheusServer:
    """A Prometheus (not started yet) on ``tsdb`` after ``rules`` were evaluated into it over ``[start, end]``."""
    require_binary("prometheus")
    backfill_rules(rules, tsdb, workdir, start, end, interval=interval)
    return PrometheusServer(Path(workdir) / "prom", tsdb=tsdb)
