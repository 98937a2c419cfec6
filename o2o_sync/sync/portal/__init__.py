"""The ProcureUAT side: the client (connection, reads, writes) over the SSH tunnel and its
shared tunnel service, the bastion's host keys, the connection's settings. Frappe-free.

May import: `o2o_sync.sync.model` and `o2o_sync.constants`.
"""
