"""Fullstack tests: real namespaces, agents, Open vSwitch and RabbitMQ.

Run them, as root, from the top of the repository with:

    .venv/bin/stestr --test-path tests/fullstack --top-dir ./ run --concurrency 1

Each test builds hosts as network namespaces joined by an underlay, starts
``naas-server`` and one ``naas-agent`` process per host against a private
RabbitMQ, and boots VMs as namespaces through naas.compute.vif
(tools.harness.fullstack).  Without root, or without a binary a scenario
needs (ip, bridge, busybox, rabbitmq-server; ovs-vswitchd and friends for
Open vSwitch), the tests skip and say why.
"""
