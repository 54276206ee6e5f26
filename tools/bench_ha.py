#!/usr/bin/env python3
"""HA benchmark: failover times and lost pings (as root).

    .venv/bin/python tools/bench_ha.py [--runs 3] [--driver linuxbridge]
        [--scenario dhcp --scenario router --scenario vrrp] [--json FILE]

Runs the fullstack HA scenarios of tests/fullstack/test_ha.py and
test_l3_ha.py (``--scenario``: all by default) ``--runs`` times each, one at a time (the environment is the fullstack tier's: a
private RabbitMQ, naas-server with agent_down_time 6 s, two hosts as
namespaces, one naas-agent per host), and gathers what they record
(``$NAAS_FULLSTACK_RESULTS``):

1. **DHCP** (dhcp_agents_per_network 2, both hosts DHCP agents): one host
   dies (its agent SIGKILLed, its underlay link cut); then a port is made
   on the other host and a VM booted on it: ``lease_after_death_s`` is
   port create -> the VM's lease (from the surviving dnsmasq: nothing to
   fail over); ``unbound_after_s`` is death -> the dead host's DHCP port
   removed by the server's failover check.
2. **Router reschedule** (a router with a gateway and a floating IP on one
   host, a VM on the other): the router's host dies (agent SIGKILLed,
   underlay and external links cut) while the outside world pings the
   floating IP every 0.2 s: ``moved_s`` is death -> the router's ports
   bound to the other host; ``fip_answers_s`` death -> the first reply
   after the move; ``lost_pings`` the longest run of lost replies.

3. **VRRP** (an HA router on both hosts, keepalived advert_int 0.5 s; the
   VM on the backup's host; pings every 0.2 s from the VM to the outside
   and from the outside to its floating IP): the master's agent alone is
   SIGKILLed and restarted (``restart_lost``: replies lost, both pings),
   then the master's host dies (agent and keepalived SIGKILLed, links cut):
   ``outage_s`` the longest run of lost replies of the two pings, in
   seconds; ``active_reported_s`` death -> the l3-agents view shows the
   other host active.  Linux bridge only (the test has one driver).

The death-to-detection part of 1 and 2 is agent_down_time (6 s here, 75 s by
default) after the agent's last heartbeat, plus up to agent_down_time / 4
(the check's period).  Prints a Markdown table; ``--json`` writes the raw
records.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: name -> (test module, {driver: class}, method, what it records, figures)
HA_CLASSES = {'linuxbridge': 'TestHALinuxBridge', 'openvswitch': 'TestHAOpenvSwitch'}
SCENARIOS = {
    'dhcp': ('test_ha', HA_CLASSES,
             'test_dhcp_two_agents_a_new_vm_gets_its_lease_after_one_dies', 'ha_dhcp',
             ('lease_after_death_s', 'unbound_after_s')),
    'router': ('test_ha', HA_CLASSES,
               'test_router_of_a_dead_l3_agent_moves_and_its_floating_ip_answers',
               'ha_l3_reschedule', ('moved_s', 'fip_answers_s', 'lost_pings')),
    'vrrp': ('test_l3_ha', {'linuxbridge': 'TestL3HALinuxBridge'},
             'test_master_dies_and_agent_restarts', 'ha_l3_vrrp',
             ('restart_lost', 'outage_s', 'inbound_gap', 'outbound_gap',
              'active_reported_s')),
}


def run(test, results):
    env = dict(os.environ, NAAS_FULLSTACK_RESULTS=results)
    # stestr beside this interpreter (the venv's)
    cmd = [os.path.join(os.path.dirname(sys.executable), 'stestr'), '--test-path',
           'tests/fullstack', '--top-dir', './', 'run', '--concurrency', '1', test]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT)
    return proc.returncode == 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--driver', choices=sorted(HA_CLASSES), default='linuxbridge')
    parser.add_argument('--scenario', action='append', choices=sorted(SCENARIOS),
                        help='(repeatable) default: all')
    parser.add_argument('--json')
    args = parser.parse_args()
    fd, results = tempfile.mkstemp(prefix='bench-ha-', suffix='.jsonl')
    os.close(fd)
    failed = []
    chosen = args.scenario or list(SCENARIOS)
    for name in chosen:
        module, classes, method, _, _ = SCENARIOS[name]
        if args.driver not in classes:
            print('%s: no %s test, skipped' % (name, args.driver), file=sys.stderr)
            continue
        test = 'tests.fullstack.%s.%s.%s' % (module, classes[args.driver], method)
        for i in range(args.runs):
            print('%s run %d/%d' % (name, i + 1, args.runs), file=sys.stderr, flush=True)
            if not run(test, results):
                failed.append(name)
    with open(results) as f:
        records = [json.loads(line) for line in f if line.strip()]
    os.unlink(results)
    print('| scenario | figure | runs | p50 | max |')
    print('|---|---|---|---|---|')
    for name in chosen:
        what, figures = SCENARIOS[name][3:]
        mine = [r for r in records if r['what'] == what]
        for figure in figures:
            values = [r[figure] for r in mine]
            if values:
                print('| %s | %s | %d | %s | %s |' % (
                    name, figure, len(values), round(statistics.median(values), 2),
                    max(values)))
    if failed:
        print('\nfailed runs: %s' % ', '.join(failed))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(records, f, indent=1)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
