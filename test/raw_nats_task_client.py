"""Enqueues a nats-mesh task and follows it the way any NATS client in any language can: the NATS text protocol over
a plain socket, standard library only. It publishes [args, kwargs] on tasks.<service>.<method> with JetStream's
Nats-Msg-Id (the idempotency key), reads the id from the PubAck's sequence, then reads the task's entry in the
TASKS_STATE bucket by a direct get until it has ended.
Usage: raw_nats_task_client.py HOST PORT TASK PAYLOAD KEY; prints {"id": ..., "status": {...}}."""
import json
import socket
import sys
import time


class Connection:
    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port), timeout=10)
        self.file = self.sock.makefile("rb")
        info = self.line()
        assert info.startswith("INFO "), info
        connect = {"verbose": False, "pedantic": False, "headers": True, "no_responders": True, "name": "python-raw-tasks", "lang": "python", "protocol": 1}
        self.sock.sendall(f"CONNECT {json.dumps(connect)}\r\nSUB _INBOX.python_tasks.* 1\r\n".encode())
        self.asked = 0

    def line(self):
        line = self.file.readline()
        if not line:
            raise SystemExit("connection closed by the server")
        return line.decode().rstrip("\r\n")

    def request(self, subject, body=b"", headers=None):
        """Publishes with a reply inbox of its own; returns (status line, headers, body) of the answer."""
        self.asked += 1
        inbox = f"_INBOX.python_tasks.{self.asked}"
        if headers:
            block = ("NATS/1.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode()
            self.sock.sendall(f"HPUB {subject} {inbox} {len(block)} {len(block) + len(body)}\r\n".encode() + block + body + b"\r\n")
        else:
            self.sock.sendall(f"PUB {subject} {inbox} {len(body)}\r\n".encode() + body + b"\r\n")
        while True:
            line = self.line()
            if line == "PING":
                self.sock.sendall(b"PONG\r\n")
            elif line.startswith("-ERR"):
                raise SystemExit(line)
            elif line.startswith("MSG "):
                size = int(line.split()[-1])
                return "NATS/1.0", {}, self.file.read(size + 2)[:size]
            elif line.startswith("HMSG "):
                parts = line.split()
                header_size, size = int(parts[-2]), int(parts[-1])
                data = self.file.read(size + 2)[:size]
                lines = data[:header_size].decode().split("\r\n")
                fields = dict(l.split(": ", 1) for l in lines[1:] if ": " in l)
                return lines[0], fields, data[header_size:]


def enqueue(conn, task, payload, key):
    _, _, ack = conn.request(f"tasks.{task}", payload.encode(), {"Nats-Msg-Id": key})
    answer = json.loads(ack)
    if "error" in answer:
        raise SystemExit(f"not enqueued: {answer['error']}")
    return f"{task}.{answer['seq']}"


def status(conn, task_id):
    """The task's entry in TASKS_STATE, or None while no worker has written one (the task is queued)."""
    line, _, body = conn.request(f"$JS.API.DIRECT.GET.KV_TASKS_STATE.$KV.TASKS_STATE.{task_id}")
    return None if " 404" in line else json.loads(body)


if __name__ == "__main__":
    host, port, task, payload, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
    conn = Connection(host, port)
    task_id = enqueue(conn, task, payload, key)
    for _ in range(200):
        current = status(conn, task_id)
        if current and current["state"] in ("succeeded", "dead"):
            break
        time.sleep(0.05)
    print(json.dumps({"id": task_id, "status": current}))
