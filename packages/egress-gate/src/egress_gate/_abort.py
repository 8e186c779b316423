"""Close a flow's upstream connection while its request body is still streaming.

mitmproxy cannot kill a flow in transit (mitmproxy#4711: `flow.kill()` is only looked at between
hooks), so this reaches the connection handler through the proxyserver addon (mitmproxy 12)."""

from __future__ import annotations

from mitmproxy import ctx, http


def abort_upstream(flow: http.HTTPFlow) -> bool:
    try:
        handler = ctx.master.addons.get("proxyserver").connections[flow.client_conn.id]
        handler.close_connection(flow.server_conn)
    except Exception:  # internals moved: the body is still cut off, the upstream just waits
        return False
    return True
