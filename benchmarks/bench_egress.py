"""HTTPS through the egress gate against direct, in the same run, from the same client image and
runtime, against the same TLS upstream (a Python server in a container).

- direct: a container from the agent image on the upstream network (unfenced), curl to the
  upstream with its CA;
- gate: a real bottle (detached), curl through its egress gate (intercepted with the bottle's CA,
  or passthrough for passthrough.test).
Measured inside the clients by curl's own timers, so no exec overhead counts:
- new connection: one GET on a new connection (time_total), median of 15;
- kept-alive request: 40 GETs over one connection (one curl, 40 URLs), median of the last 39;
- SSE first byte: request sent to first event byte (time_starttransfer - time_pretransfer);
- download and upload of 100 MB (speed_download / speed_upload), intercepted and passthrough;
- the gate's RSS (VmRSS idle, VmHWM after the transfers) read from /proc/1/status.
Targets (issue 6): ≤ 5 ms per kept-alive request; intercepted download ≥ 125 MB/s; passthrough
≥ 50% of direct; SSE first byte ≤ 10 ms added; gate RSS ≤ 100 MB while a 100 MB body passes.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import threading
import uuid
from pathlib import Path

import docker
from _common import in_bottle, in_container, launch, tear_down
from tls_upstream import make_test_ca, start_tls_upstream

MB = 1 << 20
NEW = "for i in $(seq 15); do curl -s -o /dev/null {ca} -w '%{{time_total}}\\n' https://tls.test/; done"
KEEP = "curl -s {ca} -w '%{{time_total}}\\n'" + " -o /dev/null https://tls.test/" * 40
SSE = (
    "curl -sN -o /dev/null {ca} -w '%{{time_starttransfer}} %{{time_pretransfer}}\\n' 'https://tls.test/sse?n=1'"
    " || true"  # the event stream ends when the server closes it
)
# Downloads come from `openssl s_server -HTTP` in the upstream container: the Python server tops out
# near the gate's own speed, which would hide the gate's cost.
DOWN = "curl -s -o /dev/null {ca} -w '%{{speed_download}}' 'https://{host}:8443/blob'"
UP = "curl -s -o /dev/null {ca} -w '%{{speed_upload}}' --data-binary @/tmp/blob https://{host}/sink"


def main(runs: int = 5, runtime: str | None = None) -> str:
    client = docker.from_env()
    from bottle_launcher.runtime.docker import DockerBackend, detect_runtime

    backend = DockerBackend(client)
    agent_image, egress_image = backend.image("agent"), backend.image("egress")
    runtime = runtime or detect_runtime(client)
    network = client.networks.create(f"bench-egress-{uuid.uuid4().hex[:6]}")
    subnet = client.networks.get(network.id).attrs["IPAM"]["Config"][0]["Subnet"]
    folder = Path(tempfile.mkdtemp())
    ca = make_test_ca()
    (folder / "up.pem").write_bytes(ca.cert_pem)
    cleanup = []
    try:
        upstream = start_tls_upstream(client, egress_image, network.name, ca)
        cleanup.append(upstream)
        # -HTTP serves each file as a whole response, so the file carries its own headers.
        head = r"HTTP/1.0 200 ok\r\nContent-Length: 104857600\r\n\r\n"
        serve = (
            f"mkdir -p /srv/www && printf '{head}' > /srv/www/blob && head -c 104857600 /dev/urandom >> /srv/www/blob"
        )
        assert upstream.exec_run(["sh", "-c", serve]).exit_code == 0
        server = ["openssl", "s_server", "-quiet", "-HTTP", "-accept", "8443", "-cert", "/srv/cert.pem"]
        upstream.exec_run([*server, "-key", "/srv/key.pem"], workdir="/srv/www", detach=True)
        egress = {
            "allowlist": ["tls.test", "passthrough.test"],
            "allow_cidrs": [subnet],
            "passthrough": ["passthrough.test"],
        }
        manifest = folder / "claude-bottle.json"
        manifest.write_text(json.dumps({"bottles": {"b": {"egress": egress}}, "agents": {"bench": {"bottle": "b"}}}))
        chosen = ["--runtime", runtime] if runtime else []
        started = launch(
            "bench", "--manifest", str(manifest), "--yes", "--detach", "--egress-network", network.name, *chosen,
            "--", "sleep", "infinity", env={"BOTTLE_EGRESS_UPSTREAM_CA": str(folder / "up.pem")},
        )  # fmt: skip
        bottle_id = started.stdout.strip()
        gate = client.containers.get(f"bottle-bench-{bottle_id}-egress")
        direct = client.containers.run(
            agent_image, entrypoint=["sleep", "infinity"], network=network.name, detach=True, runtime=runtime,
            name=f"{network.name}-direct",
        )  # fmt: skip
        cleanup.append(direct)

        in_direct, in_gate = in_container(direct, "sh"), in_bottle(bottle_id, "sh")

        setup = f"echo {_b64(ca.cert_pem)} | base64 -d > /tmp/up.pem && head -c {100 * MB} /dev/urandom > /tmp/blob"
        in_direct(setup), in_gate(setup)
        rss_idle = _rss(gate)
        sampler = _PeakRss(gate)  # gVisor has no VmHWM: poll VmRSS through the transfers instead
        sampler.start()
        arms = {
            "direct": (in_direct, "--cacert /tmp/up.pem", "--cacert /tmp/up.pem"),
            "gate": (in_gate, "", "--cacert /tmp/up.pem"),  # intercepted: the bottle's CA bundle
        }
        samples: dict[str, list[float]] = {}

        def add(key: str, value: float) -> None:
            samples.setdefault(key, []).append(value)

        for _ in range(runs):
            for name, (run, ca_arg, pass_ca) in arms.items():
                add(f"{name} new", statistics.median(_floats(run(NEW.format(ca=ca_arg)))) * 1000)
                add(f"{name} keep", statistics.median(_floats(run(KEEP.format(ca=ca_arg)))[1:]) * 1000)
                start, pre = _floats(run(SSE.format(ca=ca_arg)))[:2]
                add(f"{name} sse", (start - pre) * 1000)
                add(f"{name} down", float(run(DOWN.format(ca=ca_arg, host="tls.test"))) / MB)
                add(f"{name} up", float(run(UP.format(ca=ca_arg, host="tls.test"))) / MB)
                if name == "gate":
                    add("gate pass down", float(run(DOWN.format(ca=pass_ca, host="passthrough.test"))) / MB)
                    add("gate pass up", float(run(UP.format(ca=pass_ca, host="passthrough.test"))) / MB)
        sampler.stop.set()
        sampler.join()
        return _report(samples, rss_idle, sampler.peak, runtime, runs)
    finally:
        tear_down(cleanup, locals().get("bottle_id"), network)


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()


def _floats(text: str) -> list[float]:
    return [float(word) for word in text.split()]


def _rss(container) -> float:
    """The gate process's resident memory in MB (pid 1: mitmproxy runs in the entrypoint's process)."""
    status = container.exec_run(["cat", "/proc/1/status"]).output.decode()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024 if "VmRSS" in fields else 0.0


class _PeakRss(threading.Thread):
    def __init__(self, container) -> None:
        super().__init__(daemon=True)
        self.container, self.peak, self.stop = container, 0.0, threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.1):
            self.peak = max(self.peak, _rss(self.container))


def _report(s: dict[str, list[float]], idle: float, peak: float, runtime: str | None, runs: int) -> str:
    m = {key: statistics.median(values) for key, values in s.items()}
    return "\n".join(
        [
            f"### HTTPS through the egress gate vs direct (runtime: {runtime or 'runc'}, {runs} runs, medians)",
            "",
            "| measure | direct | gate | gate vs direct | target |",
            "|---|---|---|---|---|",
            f"| new HTTPS connection, one GET (ms) | {m['direct new']:.1f} | {m['gate new']:.1f} "
            f"| +{m['gate new'] - m['direct new']:.1f} ms | |",
            f"| request on a kept-alive connection (ms) | {m['direct keep']:.2f} | {m['gate keep']:.2f} "
            f"| +{m['gate keep'] - m['direct keep']:.2f} ms | ≤ +5 ms |",
            f"| SSE first byte after the request (ms) | {m['direct sse']:.1f} | {m['gate sse']:.1f} "
            f"| +{m['gate sse'] - m['direct sse']:.1f} ms | ≤ +10 ms |",
            f"| download 100 MB, intercepted (MB/s) | {m['direct down']:.0f} | {m['gate down']:.0f} "
            f"| {m['gate down'] / m['direct down']:.0%} | ≥ 125 MB/s |",
            f"| download 100 MB, passthrough (MB/s) | {m['direct down']:.0f} | {m['gate pass down']:.0f} "
            f"| {m['gate pass down'] / m['direct down']:.0%} | ≥ 50% |",
            f"| upload 100 MB, intercepted and scanned (MB/s) | {m['direct up']:.0f} | {m['gate up']:.0f} "
            f"| {m['gate up'] / m['direct up']:.0%} | |",
            f"| upload 100 MB, passthrough (MB/s) | {m['direct up']:.0f} | {m['gate pass up']:.0f} "
            f"| {m['gate pass up'] / m['direct up']:.0%} | ≥ 50% |",
            f"| gate RSS idle / peak over all transfers (MB) | | {idle:.0f} / {peak:.0f} | | ≤ 100 MB |",
            "",
        ]
    )


if __name__ == "__main__":
    # bench_egress.py [runs] [runtime]: the runtime defaults to the launcher's choice (runsc if registered).
    print(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5, sys.argv[2] if len(sys.argv) > 2 else None))
