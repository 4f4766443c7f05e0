"""A minimal HTTP/2 client over cleartext with prior knowledge (h2c), for
tests that need many streams multiplexed on one connection and every
body byte (curl 7.88's --parallel fails h2c prior knowledge with "Error
in the HTTP2 framing layer"). GET only; response headers are not decoded
(HPACK), except that a :status 200 is recognised as the static-table
index Apache's nghttp2 sends for it."""
import socket
import struct

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST, SETTINGS, PING, GOAWAY, WINUP, CONT = 0, 1, 3, 4, 6, 7, 8, 9
BIG = (1 << 31) - 1


def _frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", sid) + payload


def _lit(name, value):
    n, v = name.encode(), value.encode()
    assert len(n) < 127 and len(v) < 127
    return b"\x00" + bytes([len(n)]) + n + bytes([len(v)]) + v


class Stream:
    def __init__(self, path):
        self.path, self.body, self.status, self.done = path, bytearray(), None, False
        self.reset = None


def get_many(host, port, paths, concurrent=50, timeout=120):
    """GETs every path on one connection, at most `concurrent` streams at a
    time; returns the Stream of each path in order (status 200 or 'other',
    body, reset = RST_STREAM error code or None). Raises on GOAWAY or EOF
    with streams unfinished."""
    s = socket.create_connection((host, port), timeout=timeout)
    s.sendall(PREFACE + _frame(SETTINGS, 0, 0, struct.pack(">HI", 4, BIG))
              + _frame(WINUP, 0, 0, struct.pack(">I", BIG - 65535)))
    streams, by_id, nxt, live = [Stream(p) for p in paths], {}, 0, 0
    buf = bytearray()

    def start():
        nonlocal nxt, live
        out = b""
        while nxt < len(streams) and live < concurrent:
            sid = 2 * nxt + 1
            st = streams[nxt]
            by_id[sid] = st
            hb = (_lit(":method", "GET") + _lit(":scheme", "http") +
                  _lit(":path", st.path) +
                  _lit(":authority", "%s:%d" % (host, port)))
            out += _frame(HEADERS, 0x5, sid, hb)
            nxt += 1
            live += 1
        if out:
            s.sendall(out)

    start()
    try:
        while live or nxt < len(streams):
            while len(buf) < 9 or len(buf) < 9 + int.from_bytes(buf[:3], "big"):
                b = s.recv(1 << 20)
                if not b:
                    raise ConnectionError(
                        "connection closed with %d streams open, %d of %d "
                        "done" % (live, nxt - live, len(streams)))
                buf += b
            n = int.from_bytes(buf[:3], "big")
            ftype, flags = buf[3], buf[4]
            sid = struct.unpack(">I", bytes(buf[5:9]))[0] & 0x7fffffff
            pl = bytes(buf[9:9 + n])
            del buf[:9 + n]
            st = by_id.get(sid)
            if ftype == SETTINGS and not flags & 1:
                s.sendall(_frame(SETTINGS, 1, 0))
            elif ftype == PING and not flags & 1:
                s.sendall(_frame(PING, 1, 0, pl))
            elif ftype == GOAWAY:
                raise ConnectionError("GOAWAY %r" % pl[:64])
            elif ftype in (DATA, HEADERS) and st and not st.done:
                off, end = 0, len(pl)
                if flags & 0x8:
                    off, end = 1, len(pl) - pl[0]
                if ftype == HEADERS:
                    if flags & 0x20:
                        off += 5
                    if st.status is None:
                        st.status = 200 if pl[off:off + 1] == b"\x88" else "other"
                else:
                    st.body += pl[off:end]
                if flags & 1:
                    st.done = True
                    live -= 1
                    start()
            elif ftype == RST and st and not st.done:
                st.reset = struct.unpack(">I", pl[:4])[0]
                st.done = True
                live -= 1
                start()
    finally:
        s.close()
    return streams
