"""What every layer of NaaS shares, as neutron-lib is for Neutron: the
resource definitions (attribute maps, validators, extension descriptors)
and the constants that server and agents both speak.  Imports nothing of
naas.api, naas.db, naas.plugins, naas.agent or naas.compute."""
