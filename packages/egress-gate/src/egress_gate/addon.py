"""The mitmproxy addon that enforces a bottle's egress policy. `python -m egress_gate` runs it.

The decision is made once, by the pure pipeline in `_decision.py` (which `bottle-launch check`
runs too); the addons here only feed it from mitmproxy's hooks and carry out its answer: a JSON
decision line for each refusal and for each admitted tunnel and request, and a 403 naming the
rule (never a secret). One addon per concern, as mitmproxy splits its hooks, sharing one `Gate`:

- `Tunnels` (`_tunnels.py`): CONNECT admission (allowlist, port, SSRF destination, the address
  connected to is the one checked); TLS passthrough or interception; raw TCP closed;
- `Requests` (`_requests.py`): a plain-HTTP request's admission, then one target (SNI,
  authority, Host), DLP on URL and headers, the body (whole, or as it streams), and credential
  swapping after each part was judged;
- `Responses` (`_responses.py`): streamed responses, credentials masked back to placeholders;
- `WebSockets` (`_websockets.py`): the client's messages through the body step, masking back;
- `LiveWatch` (`_watch.py`): live allowlist changes (`bottle-launch allow`/`deny`) applied as
  they are written, open tunnels to a host taken off closed (`Gate.apply`).
"""

from __future__ import annotations

from bottle_contract import events
from bottle_contract.egress import KNOWN_FILE, LIVE_FILE

from egress_gate._audit import emit
from egress_gate._config import GateConfig
from egress_gate._gate import Gate
from egress_gate._livefile import LiveFile
from egress_gate._requests import Requests
from egress_gate._responses import Responses
from egress_gate._rules import Policy
from egress_gate._secrets import KnownSecret, load_known
from egress_gate._tunnels import Tunnels
from egress_gate._watch import LiveWatch
from egress_gate._websockets import WebSockets


class EgressGate:
    """The gate as one addon for mitmproxy: its hooks live in `addons`, which mitmproxy calls
    after this one's own (`running`)."""

    def __init__(self, config: GateConfig | None = None, known: tuple[KnownSecret, ...] | None = None) -> None:
        self.config = config or GateConfig.load()
        if known is None:
            known = load_known(self.config.handover / KNOWN_FILE)
        self.gate = Gate(Policy(self.config, known), live=LiveFile(self.config.handover / LIVE_FILE))
        self.addons = [
            Tunnels(self.gate),
            Requests(self.gate),
            Responses(self.gate),
            WebSockets(self.gate),
            LiveWatch(self.gate),
        ]

    def running(self) -> None:
        emit(events.READY, bottle=self.config.bottle, port=self.config.port)
