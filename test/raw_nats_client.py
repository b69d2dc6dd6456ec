"""Calls a nats-mesh procedure the way any NATS client in any language can: the NATS text protocol over a
plain socket, standard library only. Usage: raw_nats_client.py HOST PORT SUBJECT PAYLOAD; prints the reply."""
import json
import socket
import sys


def read_line(sock_file):
    line = sock_file.readline()
    if not line:
        raise SystemExit("connection closed by the server")
    return line.decode().rstrip("\r\n")


def call(host, port, subject, payload):
    with socket.create_connection((host, port), timeout=10) as sock:
        sock_file = sock.makefile("rb")
        info = read_line(sock_file)
        assert info.startswith("INFO "), info
        inbox = "_INBOX.python_raw_client"
        body = payload.encode()
        connect = {"verbose": False, "pedantic": False, "name": "python-raw", "lang": "python", "protocol": 1}
        sock.sendall(
            f"CONNECT {json.dumps(connect)}\r\n".encode()
            + f"SUB {inbox} 1\r\n".encode()
            + f"PUB {subject} {inbox} {len(body)}\r\n".encode() + body + b"\r\n"
            + b"PING\r\n"
        )
        while True:
            line = read_line(sock_file)
            if line == "PING":
                sock.sendall(b"PONG\r\n")
            elif line.startswith("MSG "):
                size = int(line.split()[-1])
                data = sock_file.read(size + 2)[:size]
                return data.decode()
            elif line.startswith("-ERR"):
                raise SystemExit(line)


if __name__ == "__main__":
    host, port, subject, payload = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    print(call(host, port, subject, payload))
