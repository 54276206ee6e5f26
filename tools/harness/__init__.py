"""The one harness that the tests (tests/fixtures), the smoke scripts and the
benchmarks (tools/) share: real servers (PostgreSQL, MariaDB, RabbitMQ,
Keystone, naas-server), hosts and VMs as namespaces, private Open vSwitch
instances.  It imports nothing from tests/."""
