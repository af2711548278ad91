"""PostgreSQL for the local stack: a cluster of our own in ``.data/postgres`` on a loopback port.

The server refuses to run as root, so as root every server program runs as the ``postgres``
OS user (created if missing) and the cluster belongs to it. Clients log in over TCP with a
password (scram-sha-256); there is no Unix socket, so nothing collides with a system server.
The cluster holds the application database and the schema registry's own.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from events.errors import StackError
from infra.stack.probes import postgres_answers
from infra.stack.processes import chown_tree, ensure_os_user, is_root, run
from infra.stack.service import STOP_TIMEOUT_S, Service
from infra.stack.tools import Tools

OS_USER = "postgres"
REGISTRY_DATABASE = "apicurio"

# Appended to postgresql.conf at initdb; port and listen address are passed at each start so
# that they always follow the settings.
_CONF = """
# --- fengqiao local stack ---
unix_socket_directories = ''
log_line_prefix = '%m [%p] %q%u@%d '
"""


class Postgres(Service):
    """The cluster, its databases ``fengqiao`` (``FQ_PG_DATABASE``) and ``apicurio``."""

    name = "postgres"

    @property
    def pid_file(self) -> Path:
        return self.layout.pg_data / "postmaster.pid"

    @property
    def marker(self) -> str:
        return str(self.layout.pg_data)

    def address(self) -> str:
        return f"{self.settings.host}:{self.settings.pg_port}"

    def conninfo(self, database: str = "postgres") -> str:
        """A libpq connection string for ``database`` as the stack's user."""
        return make_conninfo(
            host=self.settings.host,
            port=self.settings.pg_port,
            user=self.settings.pg_user,
            password=self.settings.pg_password.get_secret_value(),
            dbname=database,
        )

    def healthy(self) -> bool:
        return postgres_answers(self.conninfo())

    def start(self, tools: Tools, timeout_s: float) -> None:
        self._initdb(tools)
        self._prepare_log()
        options = f"-p {self.settings.pg_port} -c listen_addresses={self.settings.host}"
        run(
            [
                str(tools.pg_bin / "pg_ctl"),
                "-D",
                str(self.layout.pg_data),
                "-l",
                str(self.log),
                "-o",
                options,
                "-w",
                "-t",
                str(int(timeout_s)),
                "start",
            ],
            user=self._os_user(),
            timeout=timeout_s + 30,
            log=self.log,
        )
        self.wait_healthy(None, timeout_s)
        self._create_databases()

    def stop(self, tools: Tools) -> bool:
        # -m fast rolls back open transactions and checkpoints; on timeout pg_ctl fails (and
        # so do we) rather than kill the server.
        if self.pid() is None:
            return True
        run(
            [
                str(tools.pg_bin / "pg_ctl"),
                "-D",
                str(self.layout.pg_data),
                "stop",
                "-m",
                "fast",
                "-w",
                "-t",
                str(int(STOP_TIMEOUT_S)),
            ],
            user=self._os_user(),
            timeout=STOP_TIMEOUT_S + 30,
            log=self.log,
        )
        return True

    def _os_user(self) -> str | None:
        return OS_USER if is_root() else None

    def _initdb(self, tools: Tools) -> None:
        data = self.layout.pg_data
        if (data / "PG_VERSION").exists():
            return
        data.mkdir(parents=True, exist_ok=True)
        data.chmod(0o700)
        if is_root():
            ensure_os_user(OS_USER)
            _check_reachable(data.parent)
            chown_tree(data, OS_USER)
        fd, pwfile = tempfile.mkstemp(prefix="fq-pg-")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(self.settings.pg_password.get_secret_value() + "\n")
            if is_root():
                chown_tree(Path(pwfile), OS_USER)
            run(
                [
                    str(tools.pg_bin / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    self.settings.pg_user,
                    f"--pwfile={pwfile}",
                    "--auth-host=scram-sha-256",
                    "--auth-local=peer",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ],
                user=self._os_user(),
            )
        finally:
            os.unlink(pwfile)
        with (data / "postgresql.conf").open("a") as f:
            f.write(_CONF)

    def _prepare_log(self) -> None:
        # pg_ctl opens the log as the server's user, who cannot create files in our folder.
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.log.touch()
        if is_root():
            chown_tree(self.log, OS_USER)

    def _create_databases(self) -> None:
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            for name in (self.settings.pg_database, REGISTRY_DATABASE):
                found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
                if found.fetchone() is None:
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _check_reachable(folder: Path) -> None:
    """Fail early when the ``postgres`` user could not reach ``folder`` (initdb would fail)."""
    for part in [folder, *folder.parents]:
        if not part.stat().st_mode & stat.S_IXOTH:
            raise StackError(
                f"PostgreSQL runs as the {OS_USER!r} user, which cannot enter {part}; "
                f"run `chmod o+x {part}` or point FQ_DATA_DIR elsewhere"
            )
