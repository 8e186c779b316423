"""A stand-in for every Anthropic host Claude Code talks to, run inside a test container.

Stdlib only: it runs under the egress image's python3. HTTPS with a certificate from the test's
private CA, for every name the container is aliased as. Each request is printed as one JSON line
(`{"request": {...}}`) so the test sees exactly what left the egress gate, Authorization included.

The Messages API answers by the last user turn:
- a tool result: "STANDIN-TOOL-DONE", then what the tool printed (its last lines), as a model
  tells the person what happened (this client shows a command's output collapsed);
- text naming `make-the-file`: a `tool_use` block, Bash `echo hi > f`;
- text naming `fetch-the-page`: a `tool_use` block, Bash fetching https://storage.googleapis.com/page
  (a stand-in host that is not on the default allowlist), or saying FETCH-REFUSED-42 (a text the
  command itself does not show);
- GET /page: "PAGE-BODY-OK from <host>";
- text naming `commit-and-push`: a `tool_use` block, Bash committing every change in the current
  folder and pushing its branch to origin;
- text naming `question-<word>`: "answer-<word> from the stand-in";
- anything else (title generation, quota checks): "ok".
Streamed (SSE) when the request asks for it, JSON otherwise.
"""

from __future__ import annotations

import http.server
import json
import re
import ssl
import sys
import threading
import time

PAGE_HOST = "storage.googleapis.com"
_lock = threading.Lock()
_counter = [0]


def _next_id(prefix: str) -> str:
    with _lock:
        _counter[0] += 1
        return f"{prefix}_standin{_counter[0]:06d}"


def _texts(content: object) -> list[str]:
    if isinstance(content, str):
        return [content]
    texts: list[str] = []
    for block in content if isinstance(content, list) else []:
        if isinstance(block, dict) and block.get("type") == "text":
            texts.append(str(block.get("text", "")))
    return texts


def _tool_output(body: dict) -> str:
    """The text of the last user message's tool results."""
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user" and isinstance(message.get("content"), list):
            results = [b for b in message["content"] if isinstance(b, dict) and b.get("type") == "tool_result"]
            return "\n".join(text for b in results for text in _texts(b.get("content")))
    return ""


def _last_user_turn(body: dict) -> tuple[list[str], bool]:
    """The last user message's texts, and whether it carries a tool result."""
    for message in reversed(body.get("messages") or []):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        has_result = isinstance(content, list) and any(
            isinstance(b, dict) and b.get("type") == "tool_result" for b in content
        )
        return _texts(content), has_result
    return [], False


def reply_for(body: dict) -> list[dict]:
    """The content blocks of the answer."""
    texts, has_result = _last_user_turn(body)
    if has_result:
        said = " / ".join(_tool_output(body).strip().splitlines()[-3:])[:300]
        return [{"type": "text", "text": f"STANDIN-TOOL-DONE. The tool said: {said}" if said else "STANDIN-TOOL-DONE"}]
    joined = "\n".join(texts)
    tools = {t.get("name") for t in body.get("tools") or [] if isinstance(t, dict)}
    if "make-the-file" in joined and "Bash" in tools:
        command = {"command": "echo hi > f", "description": "Write hi to f"}
        return [{"type": "tool_use", "id": _next_id("toolu"), "name": "Bash", "input": command}]
    if "fetch-the-page" in joined and "Bash" in tools:
        command = {
            "command": f"curl -sS https://{PAGE_HOST}/page || echo FETCH-REFUSED-$((6 * 7))",
            "description": "Fetch",
        }
        return [{"type": "tool_use", "id": _next_id("toolu"), "name": "Bash", "input": command}]
    if "commit-and-push" in joined and "Bash" in tools:
        script = (
            "echo 'by claude' > claude.txt && git add -A && git -c user.name=claude -c user.email=claude@bottle "
            "commit -qm 'made by claude in the bottle' && git push -q origin HEAD && echo PUSHED"
        )
        command = {"command": script, "description": "Commit and push"}
        return [{"type": "tool_use", "id": _next_id("toolu"), "name": "Bash", "input": command}]
    found = re.search(r"question-(\w+)", joined)
    if found:
        return [{"type": "text", "text": f"answer-{found.group(1)} from the stand-in"}]
    return [{"type": "text", "text": "ok"}]


def _usage() -> dict:
    return {
        "input_tokens": 12,
        "output_tokens": 6,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }


def _message(body: dict, blocks: list[dict]) -> dict:
    stop = "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"
    return {
        "id": _next_id("msg"),
        "type": "message",
        "role": "assistant",
        "model": body.get("model", "claude-standin"),
        "content": blocks,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": _usage(),
    }


def _events(body: dict, blocks: list[dict]) -> list[tuple[str, dict]]:
    message = _message(body, blocks)
    start = {**message, "content": [], "stop_reason": None, "usage": {**_usage(), "output_tokens": 1}}
    events: list[tuple[str, dict]] = [("message_start", {"type": "message_start", "message": start})]
    for index, block in enumerate(blocks):
        if block["type"] == "text":
            events.append(
                (
                    "content_block_start",
                    {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}},
                )
            )
            events.append(("ping", {"type": "ping"}))
            text = block["text"]
            # Several deltas, so the client really assembles a stream.
            for piece in (text[: len(text) // 2], text[len(text) // 2 :]):
                delta = {"type": "text_delta", "text": piece}
                events.append(("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}))
        else:
            empty = {**block, "input": {}}
            events.append(
                ("content_block_start", {"type": "content_block_start", "index": index, "content_block": empty})
            )
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
            events.append(("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}))
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    final = {"type": "message_delta", "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None}}
    final["usage"] = {"output_tokens": 6}
    events.append(("message_delta", final))
    events.append(("message_stop", {"type": "message_stop"}))
    return events


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args: object) -> None:
        pass

    def _record(self, body: bytes, parsed: dict | None = None) -> None:
        parsed = parsed or {}
        entry = {
            "stream": parsed.get("stream"),
            "turn": "\n".join(_last_user_turn(parsed)[0]),
            # Every user text of the conversation: a resumed session sends the earlier ones too.
            "users": [
                t for m in parsed.get("messages") or [] if m.get("role") == "user" for t in _texts(m.get("content"))
            ],
            "host": (self.headers.get("Host") or "").split(":")[0],
            "sni": getattr(self.connection, "standin_sni", None),
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body[:4000].decode("utf-8", errors="replace"),
        }
        print(json.dumps({"request": entry}), flush=True)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _json(self, status: int, payload: object) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _text(self, status: int, text: str, ctype: str = "text/plain") -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._record(b"")
        path = self.path.split("?", 1)[0]
        if path.endswith("CHANGELOG.md"):
            self._text(200, "# Changelog\n\n## 0.0.1\n\n- stand-in\n", "text/markdown")
        elif path == "/page":
            self._text(200, f"PAGE-BODY-OK from {self.headers.get('Host')}\n")
        elif path == "/api/hello":
            self._json(200, {"message": "hello"})
        elif path == "/api/oauth/profile":
            self._json(200, _PROFILE)
        elif path == "/api/claude_code/settings":
            self._json(404, {"type": "error", "error": {"type": "not_found_error", "message": "no settings"}})
        else:
            self._json(200, {})

    def do_HEAD(self) -> None:
        self._record(b"")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        raw = self._body()
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        self._record(raw, body if isinstance(body, dict) else {})
        path = self.path.split("?", 1)[0]
        if path == "/v1/messages/count_tokens":
            self._json(200, {"input_tokens": 12})
        elif path == "/v1/messages":
            blocks = reply_for(body)
            if body.get("stream"):
                self._stream(_events(body, blocks))
            else:
                self._json(200, _message(body, blocks))
        else:
            self._json(200, {})

    def _stream(self, events: list[tuple[str, dict]]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        for name, data in events:
            self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
            self.wfile.flush()
            time.sleep(0.02)
        self.close_connection = True


_PROFILE = {
    "account": {
        "uuid": "00000000-0000-4000-8000-000000000001",
        "email": "standin@example.test",
        "display_name": "Stand-in",
    },
    "organization": {
        "uuid": "00000000-0000-4000-8000-000000000002",
        "name": "Stand-in",
        "organization_type": "claude_max",
    },
}


def main() -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain("/srv/cert.pem", "/srv/key.pem")
    server = http.server.ThreadingHTTPServer(("0.0.0.0", 443), Handler)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print("listening", flush=True)
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
