"""An OpenAI-compatible LLM server for the explanation tests: real HTTP on loopback (the
chat-completions edge of the protocol), answering every call with one text after a delay;
the ``openai`` backend is pointed at it by settings."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class SlowLLM(ThreadingHTTPServer):
    """An OpenAI-compatible server answering every chat completion with ``text`` after
    ``delay_s``; counts the calls."""

    daemon_threads = True

    def __init__(self, text: str, delay_s: float) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.text = text
        self.delay_s = delay_s
        self.calls = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Handler(BaseHTTPRequestHandler):
    server: SlowLLM

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        self.server.calls += 1
        time.sleep(self.server.delay_s)
        message = {"role": "assistant", "content": self.server.text}
        body = json.dumps(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "model": request.get("model"),
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 50, "completion_tokens": 9, "total_tokens": 59},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def serving(server: SlowLLM) -> Iterator[SlowLLM]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
