#!/usr/bin/env python3
"""Raw QAP1 frames against the front end (run by qap_clients.sh): every
command the proxy refuses, alone and pipelined between evaluations, answered
in order with ERR_accessDenied while the session keeps its state; a refused
frame with a large payload; login without authentication; a frame above
MAX_FRAME_BYTES; a request past QAP_REQUEST_TIMEOUT interrupted with the
session kept; the idle timeout; QAP_MAX_CLIENTS; under a low open-file
limit, QAP_MAX_CLIENTS lowered to keep the daemon's descriptor reserve.
Settings come from the environment."""
import os
import socket
import struct
import sys
import time

PORT = int(os.environ["QAP_PORT"])
SOCK = os.environ["QAP_SOCKET"]
LOG = os.environ["QAP_LOG"]
MAX_FRAME = int(os.environ["MAX_FRAME_BYTES"])
IDLE = float(os.environ["QAP_IDLE_TIMEOUT"])
MAX_CLIENTS = int(os.environ["QAP_MAX_CLIENTS"])

CMD_LOGIN, CMD_EVAL, CMD_VOID_EVAL = 0x001, 0x003, 0x002
RESP_OK, RESP_ERR = 0x10001, 0x10002
ACCESS_DENIED, DATA_OVERFLOW = 0x48, 0x4B
DT_STRING, DT_INT, DT_BYTESTREAM = 4, 1, 5
XT_ARRAY_INT, XT_ARRAY_DOUBLE = 32, 33

REFUSED = {
    "shutdown": 0x004, "switch": 0x005, "keyReq": 0x006, "secLogin": 0x007,
    "detachSession": 0x030, "detachedVoidEval": 0x031, "attachSession": 0x032,
    "ctrl": 0x040, "ctrlEval": 0x042, "ctrlShutdown": 0x044, "ctrlSource": 0x045,
    "ctrl 0x4f": 0x04F, "setBufferSize": 0x081, "proxy class": 0x40001,
    "proxy target": 0x40123, "unsolicited OOB": 0x22000, "response word": 0x10001,
}

failures = 0


def check(name, ok, detail=""):
    global failures
    print(("ok   " if ok else "FAIL ") + name + (("  " + detail) if detail and not ok else ""))
    if not ok:
        failures += 1


def string_param(text):
    data = text.encode() + b"\0"
    data += b"\0" * (-len(data) % 4)
    return struct.pack("<I", DT_STRING | len(data) << 8) + data


def frame(cmd, payload=b""):
    return struct.pack("<IIII", cmd, len(payload), 0, 0) + payload


class Client:
    def __init__(self, unix=False, greet=True):
        if unix:
            self.s = socket.socket(socket.AF_UNIX)
            self.s.connect(SOCK)
        else:
            self.s = socket.create_connection(("127.0.0.1", PORT))
        self.s.settimeout(60)
        if greet:
            self.id = self.recv_exact(32)

    def recv_exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.s.recv(n - len(data))
            if not chunk:
                raise EOFError("connection closed after %d of %d bytes" % (len(data), n))
            data += chunk
        return data

    def send(self, data):
        self.s.sendall(data)

    def response(self):
        cmd, lo, _, hi = struct.unpack("<IIII", self.recv_exact(16))
        return cmd, self.recv_exact(lo | hi << 32)

    def eval(self, expr):
        self.send(frame(CMD_EVAL, string_param(expr)))
        return self.response()

    def number(self, expr):
        cmd, payload = self.eval(expr)
        if cmd != RESP_OK:
            return ("error", cmd >> 24 & 0x7F)
        xt = payload[4] & 0x3F
        body = payload[8:]
        if xt == XT_ARRAY_DOUBLE:
            return struct.unpack("<d", body[:8])[0]
        if xt == XT_ARRAY_INT:
            return struct.unpack("<i", body[:4])[0]
        return ("type", xt)

    def closed_within(self, seconds):
        self.s.settimeout(seconds)
        try:
            while self.s.recv(4096):
                pass
            return True
        except (socket.timeout, TimeoutError):
            return False
        except ConnectionResetError:
            return True

    def close(self):
        self.s.close()


def is_err(cmd, status):
    return (cmd & 0xFFFFFF) == RESP_ERR and (cmd >> 24 & 0x7F) == status


def test_greeting_and_refusals():
    c = Client()
    check("ID string", c.id[:12] == b"Rsrv0103QAP1" and b"ARpt" not in c.id, repr(c.id))
    check("eval", c.number("x <- 42") == 42)
    for name, cmd in REFUSED.items():
        c.send(frame(cmd, string_param("TLS")))
        rcmd, payload = c.response()
        check("refused: " + name, is_err(rcmd, ACCESS_DENIED) and payload == b"",
              "got 0x%x" % rcmd)
        check("session after refused " + name, c.number("x") == 42)
    c.close()


def test_pipelined_refusals():
    c = Client(unix=True)
    c.number("x <- 1")
    batch = (frame(CMD_EVAL, string_param("x <- x + 1")) + frame(0x004, string_param("")) +
             frame(CMD_EVAL, string_param("x")) + frame(0x042, string_param("q()")) +
             frame(0x081, struct.pack("<II", DT_INT | 4 << 8, 1024)) +
             frame(CMD_EVAL, string_param("x * 2")))
    c.send(batch)
    answers = [c.response() for _ in range(6)]
    kinds = ["ok" if a[0] == RESP_OK else "err%x" % (a[0] >> 24 & 0x7F) for a in answers]
    check("pipelined answers in order", kinds == ["ok", "err48", "ok", "err48", "err48", "ok"],
          str(kinds))
    check("pipelined state", c.number("x") == 2)
    c.close()


def test_large_refused_payload():
    c = Client()
    c.number("y <- 7")
    blob = b"\xab" * (3 << 20)
    c.send(frame(0x032, struct.pack("<II", DT_BYTESTREAM | 64 | (len(blob) & 0xFFFFFF) << 8,
                                    len(blob) >> 24) + blob))
    rcmd, _ = c.response()
    check("refused attachSession with 3 MB payload", is_err(rcmd, ACCESS_DENIED))
    check("session after a large refused frame", c.number("y") == 7)
    c.close()


def test_login_without_auth():
    c = Client()
    c.send(frame(CMD_LOGIN, string_param("someone\nsecret-word")))
    rcmd, _ = c.response()
    check("login accepted without authentication", rcmd == RESP_OK)
    check("session after login", c.number("1 + 1") == 2)
    c.close()
    with open(LOG) as f:
        check("no password in the log", "secret-word" not in f.read())


def test_frame_too_big():
    c = Client()
    c.number("1")
    c.send(struct.pack("<IIII", CMD_EVAL, (MAX_FRAME + 1) & 0xFFFFFFFF, 0, (MAX_FRAME + 1) >> 32))
    rcmd, _ = c.response()
    check("frame above MAX_FRAME_BYTES answered", is_err(rcmd, DATA_OVERFLOW), "0x%x" % rcmd)
    check("frame above MAX_FRAME_BYTES closes", c.closed_within(10))
    c.close()


def test_request_timeout():
    c = Client()
    c.number("z <- 5")
    t0 = time.time()
    rcmd, _ = c.eval("Sys.sleep(60); 1")
    took = time.time() - t0
    check("request past QAP_REQUEST_TIMEOUT interrupted", (rcmd & 0xFFFFFF) == RESP_ERR and
          took < 20, "0x%x after %.1f s" % (rcmd, took))
    check("session kept after the interrupt", c.number("z") == 5)
    c.close()


def test_idle_timeout():
    c = Client()
    c.number("1")
    t0 = time.time()
    closed = c.closed_within(IDLE + 5)
    check("idle client disconnected", closed and time.time() - t0 >= IDLE - 1,
          "after %.1f s" % (time.time() - t0))
    c.close()


def test_max_clients():
    held = [Client(greet=True) for _ in range(MAX_CLIENTS)]
    extra = Client(greet=False)
    got = b""
    try:
        got = extra.s.recv(32)
    except ConnectionResetError:
        pass
    check("client over QAP_MAX_CLIENTS turned away", got == b"", repr(got))
    extra.close()
    for h in held:
        h.close()
    time.sleep(0.5)
    c = Client()
    check("accepting after clients left", c.id[:4] == b"Rsrv")
    c.close()


def test_out_of_descriptors():
    """The daemon runs with few descriptors (QAP_TEST_NOFILE): at start
    QAP_MAX_CLIENTS is lowered to what the limit leaves beyond the daemon's
    reserve (64 + 256 + 8 per slot), so clients past it are turned away and
    accept never runs out of descriptors; once they are gone a client
    works."""
    nofile = int(os.environ["QAP_TEST_NOFILE"])
    cap = nofile - (64 + 256 + 8 * int(os.environ["MAX_SANDBOXES"]))
    with open(LOG) as f:
        log = f.read()
    lowered = [l for l in log.splitlines() if "client caps lowered" in l]
    check("QAP_MAX_CLIENTS lowered to the descriptors left",
          len(lowered) == 1 and ("qap_max_clients=%d qap_configured=%d" % (cap, MAX_CLIENTS))
          in lowered[0], repr(lowered))
    held = []
    for _ in range(nofile + 8):
        try:
            held.append(Client(greet=False))
        except OSError:
            break
    time.sleep(1.5)
    with open(LOG) as f:
        log = f.read()
    check("clients past the cap turned away", log.count("msg=\"client turned away\"") >= 8)
    check("accept never ran out of descriptors", "accepting paused" not in log)
    for h in held:
        h.close()
    time.sleep(2.0)
    c = Client()
    check("a client works once they are gone", c.id[:4] == b"Rsrv")
    check("and evaluates", c.number("6 * 7") == 42)
    c.close()


def login_frame(user, password):
    return frame(CMD_LOGIN, string_param(user + "\n" + password))


def test_auth():
    """QAP_PASSWORD_FILE is set: the greeting asks for a plain login (ARpt),
    nothing runs before it, a wrong password is refused and the connection
    closed, the right one opens a session."""
    user, password = os.environ["QAP_TEST_USER"], os.environ["QAP_TEST_PASSWORD"]
    c = Client(unix=True)
    check("ID string asks for a plain login", b"ARpt" in c.id, repr(c.id))
    c.send(frame(CMD_EVAL, string_param("1")))
    rcmd, _ = c.response()
    check("command before login refused", is_err(rcmd, 0x41), "0x%x" % rcmd)
    check("connection closed after it", c.closed_within(10))
    c.close()
    c = Client()
    c.send(login_frame(user, password + "x"))
    rcmd, _ = c.response()
    check("wrong password refused", is_err(rcmd, 0x41), "0x%x" % rcmd)
    c.close()
    c = Client()
    c.send(login_frame("nobody", password))
    rcmd, _ = c.response()
    check("unknown user refused", is_err(rcmd, 0x41), "0x%x" % rcmd)
    c.close()
    c = Client()
    c.send(login_frame(user, password) + frame(CMD_EVAL, string_param("6 * 7")))
    rcmd, _ = c.response()
    check("login accepted", rcmd == RESP_OK, "0x%x" % rcmd)
    cmd, payload = c.response()
    check("eval pipelined after the login", cmd == RESP_OK)
    check("session after login", c.number("6 * 7") == 42)
    c.close()
    time.sleep(0.5)
    with open(LOG) as f:
        log = f.read()
    check("audit line names the user", ("user=\"%s\"" % user) in log)
    check("no password in the log", password not in log)


def main():
    if os.environ.get("QAP_TEST_PASSWORD"):
        test_auth()
        print("PASS" if failures == 0 else "FAIL: %d checks failed" % failures)
        return 0 if failures == 0 else 1
    if os.environ.get("QAP_TEST_NOFILE"):
        test_out_of_descriptors()
        print("PASS" if failures == 0 else "FAIL: %d checks failed" % failures)
        return 0 if failures == 0 else 1
    test_greeting_and_refusals()
    test_pipelined_refusals()
    test_large_refused_payload()
    test_login_without_auth()
    test_frame_too_big()
    test_request_timeout()
    test_idle_timeout()
    test_max_clients()
    print("PASS" if failures == 0 else "FAIL: %d checks failed" % failures)
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
