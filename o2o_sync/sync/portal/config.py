"""Connection settings for the ProcureUAT database, free of Frappe.

The Frappe side builds a `ConnectionConfig` from a Database Connection document
(`Database Connection.get_connection_config`); tests build one directly.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ConnectionConfig:
	"""Where and how to reach the portal's MariaDB.

	Timeouts are in seconds. `lock_wait_timeout` and `statement_timeout` are the portal
	session's own limits (`innodb_lock_wait_timeout`, `max_statement_time`, and the idle
	`wait_timeout`; see `client.session_limits_sql`): no session of the sync holds a portal lock
	longer. `ssh_private_key` is the OpenSSH/PEM key text;
	`ssh_host_key` is the bastion's public host key line, e.g. ``ssh-ed25519 AAAA...``.
	Secrets are kept out of `repr()` so they never reach a log by accident.
	"""

	host: str
	port: int = 3306
	database: str = ""
	username: str = ""
	password: str = field(default="", repr=False)
	use_ssh_tunnel: bool = False
	ssh_host: str = ""
	ssh_port: int = 22
	ssh_username: str = ""
	ssh_private_key: str = field(default="", repr=False)
	ssh_key_passphrase: str = field(default="", repr=False)
	ssh_host_key: str = ""
	connect_timeout: float = 10.0
	read_timeout: float = 60.0
	lock_wait_timeout: int = 10
	statement_timeout: int = 30
	name: str = "ProcureUAT"

	def cache_key(self) -> tuple:
		"""Identity of the connection for the per-process client cache (hashable, secret-free order)."""
		return (
			self.name,
			self.host,
			self.port,
			self.database,
			self.username,
			hash(self.password),
			self.use_ssh_tunnel,
			self.ssh_host,
			self.ssh_port,
			self.ssh_username,
			hash(self.ssh_private_key),
			hash(self.ssh_key_passphrase),
			self.ssh_host_key,
			self.lock_wait_timeout,
			self.statement_timeout,
		)
