"""Close a flow's upstream connection (and then its client's) while its request body is still
streaming.

mitmproxy cannot kill a flow in transit (mitmproxy#4711: `flow.kill()` is only looked at between
hooks), so this reaches the connection handler through the proxyserver addon (mitmproxy 12).

The transport is aborted at once, not closed: a close is carried out later, and in between
mitmproxy would still write what follows, such as the end of a chunked body, which would make
the truncated request a complete one that the upstream acts on (measured: a secret in the last
chunk of a chunked upload). An aborted transport discards its buffer, and mitmproxy writes
nothing more to a closing one."""

from __future__ import annotations

from mitmproxy import ctx, http


def abort_upstream(flow: http.HTTPFlow) -> bool:
    try:
        handler = ctx.master.addons.get("proxyserver").connections[flow.client_conn.id]
        handler.transports[flow.server_conn].writer.transport.abort()
        handler.close_connection(flow.server_conn)
        # With its upstream gone this way, mitmproxy never answers the client: close it too,
        # so the agent's request fails at once instead of waiting for a response forever.
        handler.close_connection(flow.client_conn)
    except Exception:  # internals moved: the body is still cut off, the upstream just waits
        return False
    return True


def close_client(client_id: str) -> bool:
    """Close a client connection and every upstream connection it opened, as mitmproxy's own
    inactivity timeout does: its connection handler cancels the client's transport, then each
    server's. `flow.kill()` alone leaves an idle tunnel open (mitmproxy#8045). False when the
    connection is gone already (or the internals moved)."""
    try:
        handler = ctx.master.addons.get("proxyserver").connections[client_id]
        handler.close_connection(handler.client)
    except Exception:
        return False
    return True
