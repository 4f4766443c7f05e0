"""Radicale (CalDAV) on mod_sysgi and (--reference-mod-wsgi) on mod_wsgi:
MKCALENDAR, PUT an event, PROPFIND, REPORT calendar-query, GET, DELETE
(issue 13). WebDAV methods and bodies go through WSGI unchanged."""
import os

import pytest
import requests

from conftest import APPS

APP = os.path.join(APPS, "real", "radicale_app.py")
EVENT = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//sysgi//test//EN
BEGIN:VEVENT
UID:sysgi-test-event-1
DTSTAMP:20261201T120000Z
DTSTART:20261224T180000Z
DTEND:20261224T200000Z
SUMMARY:sysgi CalDAV test
END:VEVENT
END:VCALENDAR
""".replace("\n", "\r\n")
PROPFIND = """<?xml version="1.0" encoding="utf-8"?>
<propfind xmlns="DAV:"><prop><getetag/><resourcetype/></prop></propfind>"""
REPORT = """<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/><C:calendar-data/></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"/>
  </C:comp-filter></C:filter>
</C:calendar-query>"""


@pytest.fixture
def radicale(servers):
    d = servers.site("radicale")
    store = os.path.join(d, "collections")
    os.makedirs(store)
    os.chmod(store, 0o777)
    conf = os.path.join(d, "radicale.conf")
    with open(conf, "w") as f:
        f.write("[auth]\ntype = none\n[rights]\ntype = owner_only\n"
                "[storage]\nfilesystem_folder = %s\n" % store)
    os.chmod(conf, 0o644)
    return servers.start(["SetEnv RADICALE_CONFIG %s" % conf,
                          "WSGIPassAuthorization On",
                          "WSGIScriptAlias /dav %s" % APP], None,
                         wait_path=None)


def test_caldav_round_trip(radicale):
    base = radicale.url + "/dav/alice/cal/"
    s = requests.Session()
    s.auth = ("alice", "any")
    r = s.request("MKCALENDAR", base, timeout=60)
    assert r.status_code == 201, r.text
    r = s.put(base + "event1.ics", data=EVENT.encode(), timeout=60,
              headers={"Content-Type": "text/calendar; charset=utf-8"})
    assert r.status_code == 201, r.text
    etag = r.headers["ETag"]
    r = s.request("PROPFIND", base, data=PROPFIND, timeout=60,
                  headers={"Depth": "1", "Content-Type": "application/xml"})
    assert r.status_code == 207 and "event1.ics" in r.text and etag.strip('"') in r.text
    r = s.request("REPORT", base, data=REPORT, timeout=60,
                  headers={"Depth": "1", "Content-Type": "application/xml"})
    assert r.status_code == 207 and "sysgi CalDAV test" in r.text
    r = s.get(base + "event1.ics", timeout=60)
    assert r.status_code == 200 and "UID:sysgi-test-event-1" in r.text
    r = s.delete(base + "event1.ics", timeout=60)
    assert r.status_code == 200
    assert s.get(base + "event1.ics", timeout=60).status_code == 404
