"""The nftables ruleset of a router: SNAT, floating IPs, hidden routers.

:func:`ruleset` renders the input of one ``nft -f`` that replaces the
router's tables ``inet naas`` and ``ip naas`` atomically (naas.agent.l3
says what the rules do).
"""
import ipaddress

from naas.agent.l3 import router as wanted

TABLE = 'naas'


def _family(cidr):
    return 'ip6' if ipaddress.ip_network(cidr, strict=False).version == 6 else 'ip'


def ruleset(router):
    """The nftables input that replaces the router's tables (one ``nft -f``:
    atomic).  naas.agent.l3's docstring says what the rules do."""
    gw = router.get('gateway')
    qg = wanted.gateway_name(gw['port_id']) if gw else None
    snat = bool(gw and router.get('enable_snat'))
    fips = wanted.floating_ips(router)
    hidden = bool(router.get('hidden'))
    forward = []
    if hidden:
        for sr in router.get('subnet_routes') or ():
            a, b = sr['cidrs']
            fam = _family(a)
            forward.append('%s saddr %s %s daddr %s accept' % (fam, a, fam, b))
            forward.append('%s saddr %s %s daddr %s accept' % (fam, b, fam, a))
    if snat:
        # The outside reaches the inside only through floating IPs.
        forward += ['iifname "%s" ct state established,related accept' % qg,
                    'iifname "%s" ct status dnat accept' % qg,
                    'iifname "%s" drop' % qg]
    lines = ['table inet %s' % TABLE, 'delete table inet %s' % TABLE,
             'table inet %s {' % TABLE,
             '  chain forward {',
             '    type filter hook forward priority filter; policy %s;'
             % ('drop' if hidden else 'accept')]
    lines += ['    ' + r for r in forward]
    lines += ['  }', '}']
    lines += ['table ip %s' % TABLE, 'delete table ip %s' % TABLE]
    if gw and (snat or fips):
        pre, out, post = [], [], []
        for fip, fixed in sorted(fips.items()):
            pre.append('ip daddr %s dnat to %s' % (fip, fixed))
            out.append('ip daddr %s dnat to %s' % (fip, fixed))
            post.append('oifname "%s" ip saddr %s snat to %s' % (qg, fixed, fip))
        if fips:
            # Hairpin: from inside to a floating IP of the same router.
            post.append('iifname "%s*" oifname "%s*" ct status dnat masquerade'
                        % (wanted.INTERNAL_PREFIX, wanted.INTERNAL_PREFIX))
        gw_ip = wanted.gateway_ipv4(router)
        if snat and gw_ip:
            post.append('oifname "%s" snat to %s' % (qg, gw_ip))
        lines += ['table ip %s {' % TABLE,
                  '  chain prerouting {',
                  '    type nat hook prerouting priority dstnat; policy accept;']
        lines += ['    ' + r for r in pre]
        lines += ['  }', '  chain output {',
                  '    type nat hook output priority -100; policy accept;']
        lines += ['    ' + r for r in out]
        lines += ['  }', '  chain postrouting {',
                  '    type nat hook postrouting priority srcnat; policy accept;']
        lines += ['    ' + r for r in post]
        lines += ['  }', '}']
    return '\n'.join(lines) + '\n'
