#!/usr/bin/python3
"""A refused websocket upgrade is an HTTP/1.1 response that Debian's Python `websockets` (the
client of protocol.md section 12) can parse: a wrong token gives status 401, a missing
subprotocol 400, each with the reason in the body. Regression: lws answered "HTTP/1.0 401"
and websockets reported "did not receive a valid HTTP response"."""
import asyncio, os, socket, subprocess, sys, tempfile, time

import websockets


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


async def status_of(url, headers, subprotocols):
    try:
        async with websockets.connect(url, subprotocols=subprotocols, extra_headers=headers, open_timeout=5):
            return None
    except websockets.exceptions.InvalidStatusCode as e:
        return e.status_code


def main():
    tw = os.environ.get("TW_BIN")
    if not tw:
        return 77
    with tempfile.TemporaryDirectory() as d:
        tok = os.path.join(d, "tok")
        with open(tok, "w") as f:
            f.write("right-token-123\n")
        port = free_port()
        p = subprocess.Popen([tw, "record", "--out", os.path.join(d, "out"), "--listen", f"127.0.0.1:{port}",
                              "--token-file", tok, "--quiet"])
        try:
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), 0.2).close()
                    break
                except OSError:
                    time.sleep(0.05)
            url = f"ws://127.0.0.1:{port}/"
            st = asyncio.run(status_of(url, {"Authorization": "Bearer wrong"}, ["teleworld.v1"]))
            assert st == 401, f"wrong token: status {st}"
            st = asyncio.run(status_of(url, {"Authorization": "Bearer right-token-123"}, None))
            assert st == 400, f"no subprotocol: status {st}"
            raw = socket.create_connection(("127.0.0.1", port))
            raw.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                        b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        b"Sec-WebSocket-Protocol: teleworld.v1\r\nAuthorization: Bearer wrong\r\n\r\n")
            resp = b""
            while True:
                b = raw.recv(4096)
                if not b:
                    break
                resp += b
            assert resp.startswith(b"HTTP/1.1 401 "), resp[:40]
            assert b"wrong token" in resp.split(b"\r\n\r\n", 1)[1], resp
            print("401 and 400 as HTTP/1.1 with the reason in the body; websockets", websockets.__version__)
        finally:
            p.terminate()
            assert p.wait(20) == 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
