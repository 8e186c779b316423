"""Run the gate: wait for the bottle's CA and secrets in the tmpfs, then mitmproxy with our addon."""

from __future__ import annotations

from pathlib import Path

from bottle_contract.egress import MITMPROXY_CA_FILE

from egress_gate import _engine
from egress_gate._config import GateConfig
from egress_gate._handover import wait_for_handover


def _upstream_trust(config: GateConfig) -> str | None:
    """The public CAs plus a private one the user named, as one bundle in the tmpfs."""
    if not config.upstream_ca:
        return None
    import certifi

    bundle = config.handover / "upstream-trust.pem"
    bundle.write_text(Path(certifi.where()).read_text() + "\n" + Path(config.upstream_ca).read_text())
    return str(bundle)


def main() -> None:
    _engine.preload()  # the slow part of the start, done while the launcher hands over
    config = GateConfig.load()
    wait_for_handover(config.handover, (MITMPROXY_CA_FILE,))
    from egress_gate.addon import EgressGate

    options: dict[str, object] = {
        "listen_host": "0.0.0.0",
        "listen_port": config.port,
        "confdir": str(config.handover),
        # Eager: the upstream TCP (and, when the SNI matches, TLS) handshake overlaps the client's,
        # instead of following the first request; it happens only after http_connect admitted
        # the host. The addon keeps a mismatched SNI from ever reaching the upstream.
        "connection_strategy": "eager",
        # HTTP/1.1 only: mitmproxy's HTTP/2 added about 9 ms per request (measured, kept-alive).
        "http2": False,
        "ssl_insecure": False,  # upstream certificates are verified
    }
    trust = _upstream_trust(config)
    if trust:
        options["ssl_verify_upstream_trusted_ca"] = trust
    _engine.run(options, EgressGate(config))


if __name__ == "__main__":
    main()
