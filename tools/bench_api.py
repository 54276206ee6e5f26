#!/usr/bin/env python3
"""Benchmark an OpenStack Networking API v2.0 endpoint (NaaS, Neutron, ...).

Python standard library only (tools.harness.client: http.client with one
persistent keep-alive connection per client thread).  Speaks plain Networking API v2.0,
so the same run can measure NaaS and a real Neutron side by side:

    tools/bench_api.py --target naas=http://127.0.0.1:9696 \\
                       --target neutron=http://127.0.0.1:19696 \\
                       --ports 40 --networks 10 --list-size 300 --clients 8

Every scenario reports count, errors, seconds, ops/s, p50 and p99 latency.
At the end one Markdown table is printed (a column per target; with exactly
two targets a ratio column where > 1 always means the first target is better:
ops/s first/second, latency second/first).

Everything the run creates is named ``<prefix>-<run id>-...`` and is deleted
at the end of each target's run, also on error or Ctrl-C.  ``--cleanup``
removes whatever earlier (killed) runs left behind, by name prefix.

``--start-peer`` runs the comparison in one command on one database
server: it starts the Neutron peer (tools/peer/neutron-up.sh: uWSGI with 2
processes on its own MariaDB; minutes the first time, stopped at the end if
this run started it), a private RabbitMQ and a naas-server with
``--api-workers`` API processes (default 2, as the peer's uWSGI) on a
database of its own on the peer's MariaDB (mysqlclient), then measures
naas and neutron in turn:

    .venv/bin/python tools/bench_api.py --start-peer --networks 20 \\
        --ports 200 --list-size 600 --list-repeats 5 --clients 8

Exit status: 0 if every scenario ran without errors, 1 if any request failed
or a check failed (wrong list length, no 409 when the subnet is full),
2 on bad usage, 130 on Ctrl-C (after cleanup).
"""

import argparse
import ipaddress
import json
import math
import contextlib
import os
import socket
import statistics
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tools.bench_security_groups import start_peer  # noqa: E402
from tools.harness.client import Client  # noqa: E402
from tools.harness.log import log  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
#: The peer's MariaDB (tools/peer/neutron-up.sh), where user naas may
#: create databases named naas*.
PEER_MARIADB = dict(host="127.0.0.1", port=13306, user="naas", password="pw")

ALL_SCENARIOS = [
    "network_create",
    "port_create_serial",
    "port_create_concurrent",
    "port_list",
    "port_show",
    "port_update",
    "port_delete",
    "fill_16",
]
DEFAULT_SCENARIOS = [s for s in ALL_SCENARIOS if s != "fill_16"]


def run_ops(clients, items, fn, stop_statuses=()):
    """Run fn(client, item) -> Response for every item, one thread per client.

    Items are handed out in order from a shared cursor, so the loop is
    bounded by len(items); every request is bounded by the client timeout.
    If a response status is in stop_statuses, no further items are started.
    Returns (list of Response or None for items never started, wall seconds).
    """
    n = len(items)
    results = [None] * n
    cursor = [0]
    lock = threading.Lock()
    stop = threading.Event()
    failures = []

    def worker(client):
        while not stop.is_set():
            with lock:
                i = cursor[0]
                if i >= n:
                    return
                cursor[0] = i + 1
            try:
                r = fn(client, items[i])
            except Exception as e:  # a bug in fn: record, do not hang
                failures.append(e)
                stop.set()
                return
            results[i] = r
            if r.status in stop_statuses:
                stop.set()

    t0 = time.perf_counter()
    if len(clients) == 1:
        worker(clients[0])
    else:
        threads = [threading.Thread(target=worker, args=(c,), daemon=True)
                   for c in clients[:max(1, min(len(clients), n))]]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    wall = time.perf_counter() - t0
    if failures:
        raise failures[0]
    return results, wall


def percentile(values, p):
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def summarize(results, wall, expected=()):
    """Summary dict of a batch of Response.  Statuses in `expected` that are
    not 2xx are neither successes nor errors (e.g. the 409 of a full subnet)."""
    done = [r for r in results if r is not None]
    ok = [r for r in done if r.ok]
    errs = [r for r in done if not r.ok and r.status not in expected]
    lat = [r.elapsed * 1000.0 for r in ok]
    return {
        "count": len(ok),
        "errors": len(errs),
        "first_error": errs[0].describe() if errs else None,
        "seconds": wall,
        "ops_per_s": (len(ok) / wall) if wall > 0 else None,
        "p50_ms": statistics.median(lat) if lat else None,
        "p99_ms": percentile(lat, 99),
        "latencies_ms": lat,
    }


class BenchError(Exception):
    pass


# --------------------------------------------------------------------------
# One target


class TargetRun:
    def __init__(self, label, url, args, run_id):
        self.label = label
        self.url = url
        self.args = args
        self.name_prefix = "%s-%s" % (args.prefix, run_id)
        headers = {
            "Accept": "application/json",
            "User-Agent": "naas-bench_api/1",
            "X-Project-Id": args.project,
            "X-Tenant-Id": args.project,
            "X-Roles": args.roles,
        }
        if args.user:
            headers["X-User-Id"] = args.user
        if args.token:
            headers["X-Auth-Token"] = args.token
        self.clients = [Client(url, headers=headers, timeout=args.timeout)
                        for _ in range(max(1, args.clients))]
        self.serial = self.clients[:1]
        self.results = {}
        self.failed = False
        self.lock = threading.Lock()
        # what this run created (for cleanup)
        self.networks = []   # ids, in creation order
        self.subnets = []
        self.ports = set()
        self.next_octet = args.cidr_second_octet
        self.port_net = None         # network for the port_* scenarios
        self.port_ids = []           # ports created by port_create_*
        self.list_net = None

    # -- helpers --------------------------------------------------------

    def name(self, kind, i=""):
        return "%s-%s%s" % (self.name_prefix, kind, i)

    def check(self, resp, what):
        if not resp.ok:
            raise BenchError("%s failed: %s" % (what, resp.describe()))
        return resp.data

    def create_network(self, client, name):
        r = client.call("POST", "/v2.0/networks", {
            "network": {"name": name, "project_id": self.args.project}})
        if r.ok:
            nid = r.data.get("network", {}).get("id")
            if nid:
                with self.lock:
                    self.networks.append(nid)
        return r

    def create_subnet(self, net_id, prefixlen=16):
        if self.next_octet > 255:
            raise BenchError("ran out of 10.x.0.0 CIDRs")
        cidr = "10.%d.0.0/%d" % (self.next_octet, prefixlen)
        self.next_octet += 1
        body = {"subnet": {"network_id": net_id, "ip_version": 4,
                           "cidr": cidr, "project_id": self.args.project,
                           "name": self.name("subnet-", self.next_octet - 1)}}
        if self.args.no_dhcp:
            body["subnet"]["enable_dhcp"] = False
        r = self.serial[0].call("POST", "/v2.0/subnets", body)
        data = self.check(r, "subnet create %s" % cidr)
        sid = data["subnet"]["id"]
        self.subnets.append(sid)
        return sid, cidr

    def new_net_with_subnet(self, kind, prefixlen=16):
        r = self.create_network(self.serial[0], self.name(kind))
        net_id = self.check(r, "network create")["network"]["id"]
        _, cidr = self.create_subnet(net_id, prefixlen)
        return net_id, cidr

    def ensure_port_net(self):
        if self.port_net is None:
            self.port_net, cidr = self.new_net_with_subnet("ports")
            log("  [%s] port network %s, subnet %s"
                % (self.label, self.port_net, cidr))
        return self.port_net

    def port_create_fn(self, net_id, kind="port-"):
        project = self.args.project

        def fn(client, i):
            r = client.call("POST", "/v2.0/ports", {
                "port": {"network_id": net_id, "project_id": project,
                         "name": self.name(kind, i)}})
            if r.ok:
                pid = r.data.get("port", {}).get("id")
                if pid:
                    with self.lock:
                        self.ports.add(pid)
            return r
        return fn

    @staticmethod
    def ids_of(results, key):
        out = []
        for r in results:
            if r is not None and r.ok:
                obj = r.data.get(key) or {}
                if obj.get("id"):
                    out.append(obj["id"])
        return out

    def list_port_ids(self, net_id):
        r = self.serial[0].call(
            "GET", "/v2.0/ports?network_id=%s&fields=id" % net_id)
        data = self.check(r, "port list")
        return [p["id"] for p in data.get("ports", [])]

    def record(self, scenario, summary, **extra):
        summary.update(extra)
        self.results[scenario] = summary
        msg = "  [%s] %-22s count=%d errors=%d %.2fs" % (
            self.label, scenario, summary["count"], summary["errors"],
            summary["seconds"])
        if summary.get("ops_per_s") is not None:
            msg += " %.1f ops/s" % summary["ops_per_s"]
        if summary.get("p50_ms") is not None:
            msg += " p50=%.1fms p99=%.1fms" % (summary["p50_ms"],
                                               summary["p99_ms"])
        log(msg)
        if summary["errors"]:
            self.failed = True
            log("  [%s] %s: %d ERRORS; first: %s"
                % (self.label, scenario, summary["errors"],
                   summary["first_error"]))
        if summary.get("check_failed"):
            self.failed = True
            log("!!!! [%s] %s CHECK FAILED: %s"
                % (self.label, scenario, summary["check_failed"]))

    def have_ports(self, want):
        """At least `want` ports for show/update/delete (untimed setup)."""
        if len(self.port_ids) < want:
            net = self.ensure_port_net()
            start = len(self.port_ids)
            res, _ = run_ops(self.clients, list(range(start, want)),
                             self.port_create_fn(net, "setup-port-"))
            self.port_ids.extend(self.ids_of(res, "port"))
            if len(self.port_ids) < want:
                bad = [r for r in res if r is not None and not r.ok]
                raise BenchError("setup: could not create ports: %s"
                                 % (bad[0].describe() if bad else "?"))
        return self.port_ids[:want]

    # -- scenarios --------------------------------------------------------

    def s_network_create(self):
        n = self.args.networks
        res, wall = run_ops(
            self.serial, list(range(n)),
            lambda c, i: self.create_network(c, self.name("net-", i)))
        self.record("network_create", summarize(res, wall))

    def _port_create(self, scenario, clients):
        net = self.ensure_port_net()
        start = len(self.port_ids)
        items = list(range(start, start + self.args.ports))
        res, wall = run_ops(clients, items, self.port_create_fn(net))
        self.port_ids.extend(self.ids_of(res, "port"))
        self.record(scenario, summarize(res, wall), clients=len(clients))

    def s_port_create_serial(self):
        self._port_create("port_create_serial", self.serial)

    def s_port_create_concurrent(self):
        self._port_create("port_create_concurrent", self.clients)

    def s_port_list(self):
        want = self.args.list_size
        net = self.ensure_port_net()
        have = len(self.list_port_ids(net))
        if have > want:
            net, cidr = self.new_net_with_subnet("list")
            log("  [%s] port network has %d > %d ports; listing on fresh "
                "network %s (%s)" % (self.label, have, want, net, cidr))
            have = 0
        self.list_net = net
        grow_t0 = time.perf_counter()
        grown = 0
        for _round in range(3):           # bounded: at most 3 fill rounds
            missing = want - have
            if missing <= 0:
                break
            log("  [%s] port_list: creating %d ports to reach %d"
                % (self.label, missing, want))
            res, _ = run_ops(self.clients,
                             list(range(grown, grown + missing)),
                             self.port_create_fn(net, "list-port-"))
            grown += missing
            bad = [r for r in res if r is not None and not r.ok]
            if bad:
                log("  [%s] port_list setup: %d create errors; first: %s"
                    % (self.label, len(bad), bad[0].describe()))
            have = len(self.list_port_ids(net))
        grow_s = time.perf_counter() - grow_t0

        path = "/v2.0/ports?network_id=%s" % net
        returned = []
        sizes = []

        def fn(client, _i):
            r = client.call("GET", path)
            if r.ok:
                returned.append(len(r.data.get("ports", [])))
                sizes.append(len(r.body))
            return r
        res, wall = run_ops(self.serial, list(range(self.args.list_repeats)),
                            fn)
        s = summarize(res, wall)
        check = None
        if not returned:
            check = "no successful list"
        elif any(n != want for n in returned):
            check = ("list returned %s ports, expected %d (ports on network "
                     "before timing: %d)" % (sorted(set(returned)), want, have))
        self.record("port_list", s, list_size=want,
                    ports_returned=returned[-1] if returned else None,
                    response_bytes=sizes[-1] if sizes else None,
                    setup_seconds=grow_s, check_failed=check)

    def s_port_show(self):
        ids = self.have_ports(self.args.ports)
        res, wall = run_ops(self.serial, ids,
                            lambda c, pid: c.call("GET",
                                                     "/v2.0/ports/" + pid))
        self.record("port_show", summarize(res, wall))

    def s_port_update(self):
        ids = self.have_ports(self.args.ports)
        items = list(enumerate(ids))
        res, wall = run_ops(self.serial, items, lambda c, it: c.call(
            "PUT", "/v2.0/ports/" + it[1],
            {"port": {"name": self.name("upd-", it[0])}}))
        self.record("port_update", summarize(res, wall))

    def s_port_delete(self):
        ids = self.have_ports(self.args.ports)

        def fn(c, pid):
            r = c.call("DELETE", "/v2.0/ports/" + pid)
            if r.ok:
                with self.lock:
                    self.ports.discard(pid)
            return r
        res, wall = run_ops(self.serial, ids, fn)
        gone = {pid for pid, r in zip(ids, res) if r is not None and r.ok}
        self.port_ids = [p for p in self.port_ids if p not in gone]
        bad204 = [r for r in res if r is not None and r.ok and r.status != 204]
        self.record("port_delete", summarize(res, wall),
                    check_failed=("DELETE answered %d, not 204" % bad204[0].status)
                    if bad204 else None)

    def s_fill_16(self):
        a = self.args
        net, cidr = self.new_net_with_subnet("fill", a.fill_prefixlen)
        capacity = 2 ** (32 - a.fill_prefixlen) - 2
        log("  [%s] fill: network %s subnet %s (%d usable incl. gateway), "
            "fill-max %d, blocks of %d" % (self.label, net, cidr, capacity,
                                          a.fill_max, a.block))
        fn = self.port_create_fn(net, "fill-")
        blocks = []
        created = 0
        full = False
        all_res = []
        total_wall = 0.0
        n_blocks = math.ceil(a.fill_max / a.block) if a.block > 0 else 0
        for b in range(n_blocks):                 # bounded by fill-max
            size = min(a.block, a.fill_max - created)
            if size <= 0:
                break
            res, wall = run_ops(self.clients,
                                list(range(created, created + size)), fn,
                                stop_statuses=(409,))
            total_wall += wall
            all_res.extend(res)
            s = summarize(res, wall, expected=(409,))
            created += s["count"]
            hit409 = any(r is not None and r.status == 409 for r in res)
            blocks.append({"block": b, "size": size, "created": s["count"],
                           "errors": s["errors"], "seconds": wall,
                           "ops_per_s": s["ops_per_s"],
                           "p50_ms": s["p50_ms"], "p99_ms": s["p99_ms"],
                           "complete": s["count"] == size})
            log("  [%s] fill block %d: %d/%d created in %.2fs (%.1f ops/s), "
                "total %d" % (self.label, b, s["count"], size, wall,
                              s["ops_per_s"] or 0, created))
            if s["errors"]:
                log("  [%s] fill block %d errors: %s"
                    % (self.label, b, s["first_error"]))
                if s["count"] == 0:
                    break                          # nothing works: stop
            if hit409:
                full = True
                break
        # one more create: it must be refused with 409 when the subnet is full
        probe = fn(self.serial[0], "probe")
        if probe.ok:
            created += 1
        probe_type = None
        if probe.status == 409:
            err = probe.data.get("NeutronError") or {}
            probe_type = err.get("type") if isinstance(err, dict) else None
        check = None
        if full and probe.status != 409:
            check = ("subnet looked full (409 during fill) but the next create "
                     "answered %s" % probe.describe(300))
        elif probe.status == 409 and probe_type != "IpAddressGenerationFailure":
            check = ("409 but NeutronError.type is %r, expected "
                     "IpAddressGenerationFailure: %s"
                     % (probe_type, probe.describe(300)))
        elif not probe.ok and probe.status != 409:
            check = "probe create failed: %s" % probe.describe(300)
        is_full = probe.status == 409
        if not is_full:
            log("  [%s] fill: subnet not full after %d ports (stopped at "
                "--fill-max %d); next create answered %s"
                % (self.label, created, a.fill_max, probe.status))
        complete = [b for b in blocks if b["complete"]]
        first = blocks[0] if blocks else None
        last = (complete[-1] if complete else
                (blocks[-1] if blocks else None))
        s = summarize(all_res, total_wall, expected=(409,))
        ratio = None
        if first and last and first["ops_per_s"] and last["ops_per_s"]:
            ratio = last["ops_per_s"] / first["ops_per_s"]
        self.record("fill_16", s, prefixlen=a.fill_prefixlen, cidr=cidr,
                    ports_created=created, full=is_full,
                    next_create_status=probe.status,
                    next_create_error_type=probe_type,
                    first_block_ops_per_s=first["ops_per_s"] if first else None,
                    last_block_ops_per_s=last["ops_per_s"] if last else None,
                    last_block_index=last["block"] if last else None,
                    last_over_first=ratio, blocks=blocks, check_failed=check)

    # -- cleanup --------------------------------------------------------

    def delete_many(self, kind, ids):
        """Delete ids with the concurrent clients; 404 counts as gone."""
        if not ids:
            return []
        res, _ = run_ops(self.clients, list(ids),
                         lambda c, i: c.call("DELETE",
                                                "/v2.0/%s/%s" % (kind, i)))
        left = [i for i, r in zip(ids, res)
                if r is None or not (r.ok or r.status == 404)]
        bad = [r for r in res if r is not None and not (r.ok or r.status == 404)]
        if bad:
            log("  [%s] cleanup: %d %s not deleted; first: %s"
                % (self.label, len(bad), kind, bad[0].describe(300)))
        return left

    def find_networks_by_prefix(self, prefix):
        r = self.serial[0].call("GET",
                                   "/v2.0/networks?fields=id&fields=name")
        data = self.check(r, "network list")
        return [n["id"] for n in data.get("networks", [])
                if (n.get("name") or "").startswith(prefix)]

    def cleanup(self, prefix=None):
        """Delete ports, subnets and networks this run made (tracked ids,
        plus networks named with our prefix: a create whose response timed
        out may still have happened).  Bounded: at most 3 rounds."""
        prefix = prefix or self.name_prefix + "-"
        t0 = time.perf_counter()
        self.connections_opened = sum(c.reconnects for c in self.clients)
        # Cleanup must not be defeated by a tiny --timeout: give it room.
        for c in self.clients:
            c.timeout = max(c.timeout, 60.0)
            c.close()
        nets = list(self.networks)
        n_ports = 0
        left = {}
        for rnd in range(3):
            if rnd:
                time.sleep(1.0)       # let late (timed-out) creates land
            try:
                nets += self.find_networks_by_prefix(prefix)
            except BenchError as e:
                log("  [%s] cleanup: %s" % (self.label, e))
            nets = list(dict.fromkeys(nets))
            ports = set(self.ports)
            for net in nets:
                try:
                    ports.update(self.list_port_ids(net))
                except BenchError as e:
                    log("  [%s] cleanup: %s" % (self.label, e))
            if rnd and not ports and not nets and not self.subnets:
                break
            n_ports += len(ports)
            left_ports = self.delete_many("ports", sorted(ports))
            self.ports = set(left_ports)
            self.subnets = self.delete_many("subnets", self.subnets)
            nets = self.delete_many("networks", nets)
            left = {"ports": left_ports, "subnets": self.subnets,
                    "networks": nets}
        self.networks = nets
        for c in self.clients:
            c.close()
        log("  [%s] cleanup: deleted %d ports, networks/subnets in %.1fs "
            "(%d HTTP connections were opened for %d clients)%s"
            % (self.label, n_ports, time.perf_counter() - t0,
               self.connections_opened, len(self.clients),
               "" if not any(left.values()) else
               "; LEFT BEHIND: %s" % {k: len(v) for k, v in left.items()}))
        return left

    def run(self, scenarios):
        log("== target %s (%s), run %s" % (self.label, self.url,
                                          self.name_prefix))
        r = self.serial[0].call("GET", "/v2.0/networks?limit=1")
        if not r.ok:
            raise BenchError("target %s not usable: %s"
                             % (self.label, r.describe()))
        try:
            for sc in scenarios:
                try:
                    getattr(self, "s_" + sc)()
                except BenchError as e:
                    self.failed = True
                    self.results[sc] = {"count": 0, "errors": 1,
                                        "first_error": str(e),
                                        "seconds": 0, "ops_per_s": None,
                                        "p50_ms": None, "p99_ms": None,
                                        "check_failed": str(e)}
                    log("!!!! [%s] %s FAILED: %s" % (self.label, sc, e))
        finally:
            left = self.cleanup()
            if any(left.values()):
                self.failed = True
        return self.results


def cleanup_by_prefix(label, url, args):
    """Delete every network named <prefix>-* (with its ports and subnets)."""
    t = TargetRun(label, url, args, "cleanup")
    nets = t.find_networks_by_prefix(args.prefix + "-")
    r = t.serial[0].call("GET", "/v2.0/subnets?fields=id&fields=name"
                            "&fields=network_id")
    subs = [s["id"] for s in t.check(r, "subnet list").get("subnets", [])
            if s.get("network_id") in set(nets)]
    log("[%s] cleanup by prefix %r: %d networks, %d subnets"
        % (label, args.prefix + "-", len(nets), len(subs)))
    t.networks, t.subnets = nets, subs
    left = t.cleanup(args.prefix + "-")
    return not any(left.values())


# --------------------------------------------------------------------------
# Report

ROWS = [
    # (scenario, label, key, kind) kind: rate | lat | info
    ("network_create", "ops/s", "ops_per_s", "rate"),
    ("network_create", "p50 ms", "p50_ms", "lat"),
    ("network_create", "p99 ms", "p99_ms", "lat"),
    ("port_create_serial", "ops/s", "ops_per_s", "rate"),
    ("port_create_serial", "p50 ms", "p50_ms", "lat"),
    ("port_create_serial", "p99 ms", "p99_ms", "lat"),
    ("port_create_concurrent", "ops/s", "ops_per_s", "rate"),
    ("port_create_concurrent", "p50 ms", "p50_ms", "lat"),
    ("port_create_concurrent", "p99 ms", "p99_ms", "lat"),
    ("port_list", "lists/s", "ops_per_s", "rate"),
    ("port_list", "p50 ms", "p50_ms", "lat"),
    ("port_list", "p99 ms", "p99_ms", "lat"),
    ("port_list", "ports returned", "ports_returned", "info"),
    ("port_show", "ops/s", "ops_per_s", "rate"),
    ("port_show", "p50 ms", "p50_ms", "lat"),
    ("port_show", "p99 ms", "p99_ms", "lat"),
    ("port_update", "ops/s", "ops_per_s", "rate"),
    ("port_update", "p50 ms", "p50_ms", "lat"),
    ("port_update", "p99 ms", "p99_ms", "lat"),
    ("port_delete", "ops/s", "ops_per_s", "rate"),
    ("port_delete", "p50 ms", "p50_ms", "lat"),
    ("port_delete", "p99 ms", "p99_ms", "lat"),
    ("fill_16", "ports created", "ports_created", "info"),
    ("fill_16", "first block ops/s", "first_block_ops_per_s", "rate"),
    ("fill_16", "last block ops/s", "last_block_ops_per_s", "rate"),
    ("fill_16", "last/first", "last_over_first", "rate"),
    ("fill_16", "next create (409 = full)", "next_create_status", "info"),
]


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v >= 100:
            return "%.0f" % v
        if v >= 10:
            return "%.1f" % v
        return "%.2f" % v
    return str(v)


def markdown_table(labels, results, scenarios):
    two = len(labels) == 2
    head = ["scenario", "metric"] + list(labels)
    if two:
        head.append("ratio %s/%s" % (labels[0], labels[1]))
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join(["---"] * 2 + ["---:"] * (len(head) - 2)) + "|"]
    for sc, name, key, kind in ROWS:
        if sc not in scenarios:
            continue
        vals = [results.get(l, {}).get(sc, {}).get(key) for l in labels]
        row = [sc, name] + [fmt(v) for v in vals]
        if two:
            a, b = vals
            ratio = None
            if kind == "rate" and isinstance(a, (int, float)) and b:
                ratio = a / b
            elif kind == "lat" and isinstance(b, (int, float)) and a:
                ratio = b / a
            row.append(fmt(ratio))
        lines.append("| " + " | ".join(row) + " |")
    for sc in scenarios:                          # errors / failed checks
        vals = []
        show = False
        for l in labels:
            s = results.get(l, {}).get(sc, {})
            e = s.get("errors", 0)
            f = s.get("check_failed")
            show = show or bool(e) or bool(f)
            vals.append(("%d" % e) + (" FAILED" if f else ""))
        if show:
            lines.append("| " + " | ".join([sc, "errors"] + vals +
                                           ([""] if two else [])) + " |")
    return "\n".join(lines)


# --------------------------------------------------------------------------
# main


def parse_target(spec, n):
    if "=" in spec and not spec.split("=", 1)[0].startswith(("http:", "https:")):
        label, url = spec.split("=", 1)
    else:
        label, url = None, spec
    u = urllib.parse.urlsplit(url)
    if u.scheme not in ("http", "https") or not u.hostname:
        raise SystemExit("bad target %r: want [LABEL=]http://HOST:PORT" % spec)
    return (label or "target%d" % n), url.rstrip("/")


def is_loopback(host):
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror:
        return False
    addrs = {i[4][0].split("%")[0] for i in infos}
    return bool(addrs) and all(ipaddress.ip_address(a).is_loopback
                               for a in addrs)


@contextlib.contextmanager
def started_pair(api_workers, service_plugins):
    """[(label, url)] of a naas-server and the Neutron peer, both on the
    peer's MariaDB; everything this started is stopped on exit."""
    import subprocess

    import fixtures
    import MySQLdb

    from tools.harness import servers
    neutron, stop_peer = start_peer()
    if neutron is None:
        raise SystemExit("the Neutron peer did not start")
    database = "naas_bench_%d" % os.getpid()
    admin = MySQLdb.connect(**PEER_MARIADB)
    try:
        with fixtures.Fixture() as stack:
            admin.cursor().execute("CREATE DATABASE %s" % database)
            stack.addCleanup(admin.cursor().execute, "DROP DATABASE %s" % database)
            rabbit = stack.useFixture(servers.RabbitMQServer())
            naas = stack.useFixture(servers.NaasServer(
                db_url="mysql+mysqldb://%(user)s:%(password)s@%(host)s:%(port)d/"
                       % PEER_MARIADB + database,
                api_workers=api_workers,
                options={"transport_url": rabbit.transport_url,
                         "service_plugins": service_plugins}))
            log("naas-server at %s (%d API workers, service plugins %s, database %s); "
                "Neutron at %s" % (naas.url, naas.workers or api_workers,
                                   service_plugins or "none", database, neutron))
            yield [("naas", naas.url), ("neutron", neutron)]
    finally:
        admin.close()
        if stop_peer:
            subprocess.run(["bash", os.path.join(HERE, "peer", "neutron-down.sh")],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="scenarios: %s (default: all but fill_16)"
        % ", ".join(ALL_SCENARIOS))
    p.add_argument("--target", "--url", dest="targets", action="append",
                   default=[], metavar="[LABEL=]URL",
                   help="base URL of a Networking API (repeatable), e.g. "
                        "naas=http://127.0.0.1:9696")
    p.add_argument("--scenarios", default=",".join(DEFAULT_SCENARIOS),
                   help="comma list, or 'all' (default: %(default)s)")
    p.add_argument("--networks", type=int, default=50)
    p.add_argument("--ports", type=int, default=500)
    p.add_argument("--clients", type=int, default=8,
                   help="concurrent client threads (one connection each)")
    p.add_argument("--list-size", type=int, default=10000)
    p.add_argument("--list-repeats", type=int, default=5)
    p.add_argument("--block", type=int, default=1000,
                   help="fill_16 block size (default %(default)s)")
    p.add_argument("--fill-max", type=int, default=65534,
                   help="fill_16: stop after this many ports")
    p.add_argument("--fill-prefixlen", type=int, default=16,
                   help="fill_16 subnet prefix length (16; a longer one "
                        "such as 26 tests exhaustion quickly)")
    p.add_argument("--project", default="bench-project")
    p.add_argument("--user", default="bench-user",
                   help="X-User-Id header ('' for none)")
    p.add_argument("--roles", default="admin,member")
    p.add_argument("--token", default=None, help="sent as X-Auth-Token")
    p.add_argument("--timeout", type=float, default=60.0,
                   help="seconds per request (default %(default)s)")
    p.add_argument("--prefix", default="naas-bench",
                   help="name prefix of everything created")
    p.add_argument("--cidr-second-octet", type=int, default=100,
                   help="subnets are 10.N.0.0/16 from N=%(default)s up")
    p.add_argument("--no-dhcp", action="store_true",
                   help="create subnets with enable_dhcp=false")
    p.add_argument("--json", metavar="FILE", help="write raw results")
    p.add_argument("--cleanup", action="store_true",
                   help="only delete what earlier runs left (by --prefix)")
    p.add_argument("--allow-non-loopback", action="store_true",
                   help="allow targets that do not resolve to loopback")
    p.add_argument("--start-peer", action="store_true",
                   help="start the Neutron peer, a RabbitMQ and a naas-server on "
                        "the peer's MariaDB, and measure both (no --target)")
    p.add_argument("--api-workers", type=int, default=2,
                   help="--start-peer: naas-server API processes (default "
                        "%(default)s, as the peer's uWSGI processes)")
    p.add_argument("--service-plugins", default="router,security-group",
                   help="--start-peer: naas-server's service_plugins (default "
                        "%(default)s: the peer has routers and security groups)")
    a = p.parse_args(argv)

    if a.start_peer:
        if a.targets:
            p.error("--start-peer starts its own targets: no --target")
        with started_pair(a.api_workers, a.service_plugins) as targets:
            a.targets = ["%s=%s" % pair for pair in targets]
            return main_on_targets(p, a)
    return main_on_targets(p, a)


def main_on_targets(p, a):
    if not a.targets:
        p.error("give at least one --target [LABEL=]URL")
    targets = [parse_target(s, i + 1) for i, s in enumerate(a.targets)]
    if len({l for l, _ in targets}) != len(targets):
        p.error("target labels must be distinct")
    for label, url in targets:
        host = urllib.parse.urlsplit(url).hostname
        if not a.allow_non_loopback and not is_loopback(host):
            p.error("%s: %s is not a loopback address (use "
                    "--allow-non-loopback if you mean it)" % (label, host))
    if a.scenarios.strip() == "all":
        scenarios = list(ALL_SCENARIOS)
    else:
        scenarios = [s.strip() for s in a.scenarios.split(",") if s.strip()]
    bad = [s for s in scenarios if s not in ALL_SCENARIOS]
    if bad:
        p.error("unknown scenario(s) %s; known: %s"
                % (", ".join(bad), ", ".join(ALL_SCENARIOS)))
    scenarios = [s for s in ALL_SCENARIOS if s in scenarios]  # fixed order
    if min(a.networks, a.ports, a.clients, a.list_size, a.list_repeats,
           a.block, a.fill_max) < 1:
        p.error("sizes must be >= 1")
    if not 16 <= a.fill_prefixlen <= 30:
        p.error("--fill-prefixlen must be 16..30")
    if a.list_size > 65000:
        p.error("--list-size must be <= 65000 (one /16 subnet)")

    if a.cleanup:
        ok = all([cleanup_by_prefix(l, u, a) for l, u in targets])
        return 0 if ok else 1

    run_id = "%s-%d" % (time.strftime("%H%M%S"), os.getpid())
    results = {}
    failed = False
    started = time.time()
    for label, url in targets:
        t = TargetRun(label, url, a, run_id)
        try:
            results[label] = t.run(scenarios)
        except BenchError as e:
            log("!!!! [%s] %s" % (label, e))
            results[label] = t.results
            failed = True
        except KeyboardInterrupt:
            log("interrupted (cleanup was attempted)")
            return 130
        failed = failed or t.failed

    print()
    print("NaaS API benchmark: clients=%d networks=%d ports=%d list-size=%d "
          "list-repeats=%d%s"
          % (a.clients, a.networks, a.ports, a.list_size, a.list_repeats,
             (" block=%d fill-max=%d fill-prefixlen=%d"
              % (a.block, a.fill_max, a.fill_prefixlen))
             if "fill_16" in scenarios else ""))
    if len(targets) == 2:
        print("(ratio > 1: %s is better; ops/s %s/%s, latency %s/%s)"
              % (targets[0][0], targets[0][0], targets[1][0],
                 targets[1][0], targets[0][0]))
    print()
    print(markdown_table([l for l, _ in targets], results, scenarios))
    if failed:
        print("\nSOME SCENARIOS HAD ERRORS OR FAILED CHECKS (see above)")

    if a.json:
        with open(a.json, "w") as f:
            json.dump({"started": started, "run_id": run_id,
                       "targets": dict(targets), "scenarios": scenarios,
                       "args": dict(vars(a), token="***" if a.token
                                    else None),
                       "failed": failed,
                       "results": results}, f, indent=1)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
