"""Host plumbing: netlink, namespaces, OVSDB/OpenFlow, offloads and VIF
primitives.  Shared by the agent (naas.agent) and the compute library
(naas.compute); imports neither of them, nor anything of the server."""
