"""The baseline for the workflow benchmark: a faust-streaming agent that forwards the case and
visit inbox bytes unchanged, with the same app settings as the workflow (exactly-once,
raw bytes, same partitions), so the ratio isolates what the workflow itself costs.

    FQ_TOPIC_PREFIX=… FQ_WORKFLOW_APP_ID=… python -m bench.passthrough
"""

from __future__ import annotations

from typing import Any

import faust

from events.topics import CASE_INBOX, VISIT_INBOX
from infra.topics import STREAM_PARTITIONS
from processors.app import faust_options, run_worker
from processors.settings import WorkflowSettings

settings = WorkflowSettings()
# Its files where the workflow keeps its own (a temporary directory), not in the working one.
# Exactly-once through faust's own transactions: the baseline the workflow's rate has been
# compared with from the start, kept so that the ratios of before and after stay comparable.
app = faust.App(
    settings.workflow_app_id,
    **(faust_options(settings) | {"processing_guarantee": "exactly_once"}),
    web_enabled=False,
    datadir=settings.data_dir(),
)


def _topic(name: str) -> Any:
    return app.topic(
        settings.topic(name),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=STREAM_PARTITIONS,
        internal=False,
    )


out = _topic("passthrough.out")


@app.agent(_topic(CASE_INBOX))
async def cases(stream: Any) -> None:
    async for key, value in stream.items():
        await out.send(key=key, value=value)


@app.agent(_topic(VISIT_INBOX))
async def visits(stream: Any) -> None:
    async for key, value in stream.items():
        await out.send(key=key, value=value)


if __name__ == "__main__":
    run_worker(app, "warning")
