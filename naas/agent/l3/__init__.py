"""Routers on a host: one network namespace per router (naas-agent's L3 part).

naas-agent runs this when ``[agent] enable_l3`` is set.  The same process
then reports a second agent, of type ``NaaS L3 agent`` (topic
``naas-l3-agent``), beside its L2 agent: the L3 plugin schedules routers to
the alive L3 agents (naas.plugins.l3.scheduler) and binds their ports to the
agent's host, so that the L2 driver of that host wires them like any VIF.
One process, two agent rows: the L3 part shares the L2 part's host, RPC
transport and life cycle, and has its own heartbeat, RPC server and worker
thread, so a slow router never holds up VIF wiring (and vice versa).

Per router that the server gives this host (naas.rpc.l3_api.sync_routers):

* a namespace ``<host namespace or "naas">-router-<router_id[:11]>`` (under
  the host's prefix, so that naas-cleanup finds it), with IPv4/IPv6
  forwarding on in that namespace only (and DAD, RA, ICMP redirects off);
* each interface port plugged by the host's L2 driver
  (``plug_service_ports``, whatever the driver; all the missing ports of a
  router in one call): the namespace end ``qr-<port_id[:11]>`` with the
  port's MAC, MTU and addresses, the host end ``tap<port_id[:11]>`` a VIF
  like any other, which the L2 driver wires;
* the gateway port the same way as ``qg-<port_id[:11]>``, with its
  addresses, every floating IP of the router as a /32 (so that the router
  answers ARP for them on the external network), and a default route via
  the external subnet's gateway_ip;
* the extra routes (``routes``, including the hops to a hidden router that
  the server adds for subnet-routes) in the main table, protocol static:
  the agent owns exactly the static routes of the namespace;
* one nftables ruleset, written with one ``nft -f`` per change (an atomic
  replacement of the tables ``inet naas`` and ``ip naas``):
  - enable_snat: everything leaving through the gateway is SNATed to the
    gateway's IPv4 address, and the outside reaches the inside only
    through a floating IP (replies and DNATed connections pass, the rest
    coming in through the gateway is dropped);
  - floating IPs: 1:1 DNAT (fip -> fixed) coming in, SNAT (fixed -> fip)
    leaving through the gateway; a VM reaching another one's floating IP
    from inside the router is masqueraded (hairpin);
  - hidden routers (the one per project that realises subnet-routes):
    forwarding is dropped except between the two subnets of each of its
    subnet-routes (``subnet_routes``); deleting one cuts its traffic.
  Conntrack entries of a floating IP that is moved or disassociated are
  deleted, so that flows through it stop at once (as Neutron does);
* IPv6 router advertisements (this router as default router, its MAC and
  the MTU; no prefixes: addresses come from the DHCP agent's advertisements,
  DHCPv6 or static configuration) on the internal interfaces that have
  IPv6 addresses, every 10 s and in answer to router solicitations;
* gratuitous ARPs for every IPv4 address added (interface addresses and
  floating IPs), sent a few times over the first four seconds, while the L2
  agent wires the interface: neighbours that knew the address at another
  MAC (an interface added again, a floating IP that moved) switch at once.

Changes: the server casts routers_updated / router_deleted /
subnet_routes_updated; the worker thread (naas.agent.reconciler: casts
merged, one retry policy) asks sync_routers again for the routers named
and makes each router's namespace match: links, addresses and routes are
compared with
what the namespace has (one dump each) and only the differences applied,
so a change costs a few netlink messages and at most one ``nft`` run.
On start the agent applies every router scheduled here over what exists
(nothing is torn down and rebuilt: traffic keeps flowing; the nftables
tables are replaced atomically, conntrack keeps the NAT of open flows) and
removes the namespaces of routers that are no longer here.  A router with
admin_state_up false keeps its namespace and plugged ports (ACTIVE), every
link down and nothing configured (naas.agent.l3.router.realised).  Stopping
the agent leaves the routers running.

The package: ``router`` (names, and what a router wants: pure functions of
the sync_routers data), ``nft`` (the ruleset), ``namespace`` (links,
addresses, routes and conntrack of a namespace, by netlink), ``garp``
(gratuitous ARPs), ``ra`` (RouterAdvertiser) and ``manager`` (L3Manager:
the reconciler that uses them all).
"""
