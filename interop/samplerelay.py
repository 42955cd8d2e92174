#!/usr/bin/env python3
"""Relay between sasl-sample-server and sasl-sample-client.

The Cyrus sample programs exchange base64 lines on stdin/stdout: the server
prints "S: ..." lines, the client "C: ..." lines, both interleaved with
chatter.  This forwards each side's protocol lines to the other and answers
the client's getpass() prompt ("Password: " on stderr; the client is started
without a controlling terminal so getpass falls back to stdin/stderr).

usage: samplerelay.py PASSWORD OUTDIR SERVER-CMD... -- CLIENT-CMD...
Writes OUTDIR/{server,client}.{out,err}, and OUTDIR/{server,client}.maps:
every libsasl2 file mapped, while they ran, by the process a command
started or its descendants (so through env, timeout and stdbuf). Exits 0
iff both programs exit 0. Both commands must line-buffer their stdout
(e.g. run under stdbuf -oL).
"""
import os
import selectors
import subprocess
import sys
import time

DEADLINE = 40  # seconds for the whole exchange (each program has timeout 30)


def descendants(pid):
    """pid and every process below it."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        try:
            for task in os.listdir("/proc/%d/task" % p):
                with open("/proc/%d/task/%s/children" % (p, task)) as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return found


def note_libsasl2(proc, seen):
    """Adds to seen the libsasl2 files mapped under proc."""
    for pid in descendants(proc.pid):
        try:
            with open("/proc/%d/maps" % pid) as f:
                for line in f:
                    path = line.split(None, 5)[5:]
                    if path and "/libsasl2.so" in path[0]:
                        seen.add(path[0].strip())
        except (OSError, IndexError):
            pass


def main():
    password, outdir, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
    sep = rest.index("--")
    server_cmd, client_cmd = rest[:sep], rest[sep + 1:]
    pipes = dict(stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                 stderr=subprocess.PIPE, start_new_session=True)
    server = subprocess.Popen(server_cmd, **pipes)
    client = subprocess.Popen(client_cmd, **pipes)
    logs = {name: open(os.path.join(outdir, name), "wb")
            for name in ("server.out", "server.err", "client.out", "client.err")}
    partial = {}
    sel = selectors.DefaultSelector()
    # (process, stream name, peer process, prefix to forward to the peer)
    sel.register(server.stdout, selectors.EVENT_READ, ("server.out", client, b"S: "))
    sel.register(server.stderr, selectors.EVENT_READ, ("server.err", None, None))
    sel.register(client.stdout, selectors.EVENT_READ, ("client.out", server, b"C: "))
    sel.register(client.stderr, selectors.EVENT_READ, ("client.err", None, None))

    def send(proc, data):
        try:
            proc.stdin.write(data)
            proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass

    maps = {"server": set(), "client": set()}
    end = time.monotonic() + DEADLINE
    while sel.get_map() and time.monotonic() < end:
        note_libsasl2(server, maps["server"])
        note_libsasl2(client, maps["client"])
        for key, _ in sel.select(timeout=0.5):
            name, peer, prefix = key.data
            data = os.read(key.fileobj.fileno(), 65536)
            if not data:
                sel.unregister(key.fileobj)
                # One side has stopped talking: let the other see EOF. Only
                # at the end of its stdout, where its protocol lines are: the
                # end of its stderr can come first, with a last line still
                # unread in the stdout pipe (a race that cost the peer that
                # line on a loaded machine).
                if name.endswith(".out"):
                    try:
                        (client if name.startswith("server") else server).stdin.close()
                    except BrokenPipeError:
                        pass
                continue
            logs[name].write(data)
            logs[name].flush()
            buf = partial.get(name, b"") + data
            if name == "client.err" and b"Password: " in buf:
                send(client, password.encode() + b"\n")
                buf = buf.split(b"Password: ")[-1]
            if prefix:
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    if line.startswith(prefix):
                        send(peer, line + b"\n")
            partial[name] = buf
    status = []
    for proc in (server, client):
        try:
            status.append(proc.wait(timeout=max(0.1, end - time.monotonic())))
        except subprocess.TimeoutExpired:
            proc.kill()
            status.append("timeout")
    for name, log in logs.items():
        log.close()
    for name, seen in maps.items():
        with open(os.path.join(outdir, name + ".maps"), "w") as f:
            f.write("".join(p + "\n" for p in sorted(seen)))
    print("server=%s client=%s" % tuple(status))
    sys.exit(0 if status == [0, 0] else 1)


if __name__ == "__main__":
    main()
