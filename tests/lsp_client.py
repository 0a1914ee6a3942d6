"""A minimal Language Server Protocol client over stdio, for the tests and the benchmark: it
frames JSON-RPC messages with Content-Length headers, as editors do."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from typing import Any, Callable


class LspClient:
    def __init__(self, command: list[str], cwd: str | None = None) -> None:
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd)
        self.messages: "queue.Queue[dict]" = queue.Queue()
        self.pending: list[dict] = []
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        stream = self.process.stdout
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.decode("ascii").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            body = stream.read(length)
            self.messages.put((time.perf_counter(), json.loads(body)))

    def _send(self, message: dict) -> None:
        body = json.dumps(message).encode("utf-8")
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def notify(self, method: str, params: Any) -> float:
        sent = time.perf_counter()
        self._send({"jsonrpc": "2.0", "method": method, "params": params})
        return sent

    def request(self, method: str, params: Any, timeout: float = 60) -> Any:
        self.next_id += 1
        ident = self.next_id
        self._send({"jsonrpc": "2.0", "id": ident, "method": method, "params": params})
        _, message = self.wait(lambda m: m.get("id") == ident and "method" not in m, timeout)
        if "error" in message:
            raise RuntimeError(message["error"])
        return message.get("result")

    def wait(self, match: Callable[[dict], bool], timeout: float = 60) -> tuple[float, dict]:
        """The first message (and when it arrived) that ``match`` accepts."""
        for index, (arrived, message) in enumerate(self.pending):
            if match(message):
                del self.pending[index]
                return arrived, message
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no matching message from the server")
            arrived, message = self.messages.get(timeout=left)
            if match(message):
                return arrived, message
            self.pending.append((arrived, message))

    def diagnostics(self, uri: str, timeout: float = 60) -> tuple[float, dict]:
        return self.wait(lambda m: m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri, timeout)

    def close(self) -> None:
        try:
            self.request("shutdown", None, timeout=10)
            self.notify("exit", None)
            self.process.wait(timeout=10)
        except Exception:
            self.process.kill()
            self.process.wait()
