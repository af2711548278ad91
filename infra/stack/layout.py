"""Where the local stack keeps its files under the data folder (``FQ_DATA_DIR``, ``.data/``).

.data/logs/{postgres,kafka,registry}.log
.data/postgres/                       PostgreSQL cluster (owned by ``postgres`` as root)
.data/kafka/libs/                     broker classpath resolved by Maven
.data/kafka/{server.properties,log4j2.properties,kafka.pid}
.data/kafka/data/                     KRaft metadata and topic logs
.data/kafka/{principals.json,scram-users}  SCRAM passwords; which users the metadata has
.data/apicurio/<version>/             unpacked registry; registry.pid beside it
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from infra.settings import StackSettings


@dataclass(frozen=True)
class Layout:
    """The stack's paths, derived from ``StackSettings`` only."""

    data_dir: Path
    apicurio_version: str

    @classmethod
    def of(cls, settings: StackSettings) -> Layout:
        return cls(settings.data_dir.resolve(), settings.apicurio_version)

    def log(self, service: str) -> Path:
        return self.data_dir / "logs" / f"{service}.log"

    @property
    def pg_data(self) -> Path:
        return self.data_dir / "postgres"

    @property
    def kafka_dir(self) -> Path:
        return self.data_dir / "kafka"

    @property
    def kafka_libs(self) -> Path:
        return self.kafka_dir / "libs"

    @property
    def kafka_data(self) -> Path:
        return self.kafka_dir / "data"

    @property
    def kafka_principals(self) -> Path:
        """The SCRAM passwords of the principals (``FQ_KAFKA_AUTH=scram``), made once."""
        return self.kafka_dir / "principals.json"

    @property
    def kafka_scram_users(self) -> Path:
        """Present once the principals' credentials are in the cluster's metadata."""
        return self.kafka_dir / "scram-users"

    @property
    def apicurio_dir(self) -> Path:
        return self.data_dir / "apicurio"

    @property
    def apicurio_home(self) -> Path:
        return self.apicurio_dir / self.apicurio_version
