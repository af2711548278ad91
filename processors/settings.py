"""Configuration of the workflow processor (``fengqiao process``), one typed object.

Read from the environment at the entry point only (``WorkflowSettings()`` in
``infra/cli_process.py``) and passed down; nothing in ``processors`` reads the environment.
``topic_prefix`` lets a test (or a second deployment on one cluster) run the whole workflow on
topics of its own: every logical name of ``events.topics`` becomes ``<prefix><name>``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["WorkflowSettings"]


class WorkflowSettings(BaseSettings):
    """How the workflow worker connects, names its topics and paces its timers.

    Environment (prefix ``FQ_``):
        ``FQ_KAFKA_BOOTSTRAP``: Kafka bootstrap servers (``127.0.0.1:19092``).
        ``FQ_REGISTRY_URL``: the Confluent-compatible schema registry
            (``http://127.0.0.1:18081/apis/ccompat/v7``).
        ``FQ_WORKFLOW_APP_ID``: the faust app id (``fengqiao-workflow``); also the consumer
            group, the prefix of the changelog topics and of the transactional ids (one per
            inbox partition: ``<app id>-eo-<topic>-<partition>``).
        ``FQ_TOPIC_PREFIX``: prepended to every topic name (empty).
        ``FQ_TRIGGER_INTERVAL_S``: seconds between deadline-trigger runs (60; 0 disables it).
        ``FQ_COMMIT_INTERVAL_S``: seconds between the commits of each inbox partition's
            transaction, with its consumed offset (1.0).
        ``FQ_PRODUCER_LINGER_MS``: how long faust's producers wait to fill a batch of records
            sent one at a time, as the deadline trigger sends its signals (50; the agents'
            outputs go in batches they close themselves, sent at once).
        ``FQ_PRODUCER_BATCH_BYTES``: the most bytes of one producer batch (262144).
        ``FQ_STREAM_BUFFER``: how many records an agent may have fetched ahead (4096).
        ``FQ_BATCH_RECORDS``: the most records an agent decides before it writes them (256).
        ``FQ_BATCH_WAIT_MS``: how long an agent waits for more records before it decides and
            writes those it has (10; it adds at most that to an outcome's latency).
        ``FQ_COMMIT_STALL_S``: how long a decided record may wait for its transaction to
            commit before the worker ends itself, uncommitted, for its supervisor to restart
            (60).
        ``FQ_SESSION_TIMEOUT_S``: seconds after which the group gives a silent worker's
            partitions to the others (30).
        ``FQ_GROUP_INSTANCE_ID``: a name for this worker that stays the same when its
            supervisor restarts it (empty: none). A restarted worker with the name of a dead
            one takes its place in the group at once, instead of waiting for the dead one's
            session to time out; two running workers must never share a name.
        ``FQ_REPLICATION_FACTOR``: replication of the changelog topics (1).
        ``FQ_WEB_PORT``: port of faust's web view (0: no web server).
        ``FQ_WORKFLOW_DATA_DIR``: faust's data directory (default: ``fengqiao-workflow/<app
            id>`` in the system's temporary directory; tables live in memory and in their
            changelog topics, so nothing there needs keeping).
        ``FQ_LOG_LEVEL``: ``debug``, ``info`` (default) or ``warning``.
    """

    model_config = SettingsConfigDict(env_prefix="FQ_", extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:19092"
    registry_url: str = "http://127.0.0.1:18081/apis/ccompat/v7"
    workflow_app_id: str = Field(default="fengqiao-workflow", min_length=1, max_length=100)
    topic_prefix: str = Field(default="", pattern=r"^[A-Za-z0-9._-]*$")
    trigger_interval_s: float = Field(default=60.0, ge=0)
    commit_interval_s: float = Field(default=1.0, gt=0)
    commit_stall_s: float = Field(default=60.0, ge=5)
    session_timeout_s: float = Field(default=30.0, ge=6, le=90)
    group_instance_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]{1,100}$")
    producer_linger_ms: int = Field(default=50, ge=0, le=1000)
    producer_batch_bytes: int = Field(default=262_144, ge=1024, le=1_000_000)
    stream_buffer: int = Field(default=4096, ge=1, le=1_000_000)
    batch_records: int = Field(default=256, ge=1, le=10_000)
    batch_wait_ms: int = Field(default=10, ge=1, le=1000)
    replication_factor: int = Field(default=1, ge=1)
    web_port: int = Field(default=0, ge=0, le=65535)
    workflow_data_dir: Path | None = None
    log_level: str = Field(default="info", pattern=r"^(debug|info|warning)$")

    def data_dir(self) -> Path:
        """Where faust keeps its files (``FQ_WORKFLOW_DATA_DIR``, or a temporary directory)."""
        default = Path(tempfile.gettempdir()) / "fengqiao-workflow" / self.workflow_app_id
        return self.workflow_data_dir or default

    def topic(self, name: str) -> str:
        """The physical topic of the logical topic ``name`` (``events.topics``)."""
        return f"{self.topic_prefix}{name}"
