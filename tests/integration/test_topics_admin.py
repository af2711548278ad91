"""Reading topics' configs on the real broker: a topic not (yet) known is asked for again
until the timeout, then named in the error."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from events.errors import StackError
from infra.settings import ConnectionSettings
from infra.stack.topics_admin import _configs, admin_client

pytestmark = pytest.mark.integration


def test_a_topic_that_never_appears_is_named_after_the_timeout(
    connection_settings: ConnectionSettings, unique_name: Callable[[str], str]
) -> None:
    admin = admin_client(connection_settings.kafka_bootstrap)
    name = unique_name("absent")
    began = time.monotonic()
    with pytest.raises(StackError, match=f"cannot describe topic {name}"):
        _configs(admin, [name], timeout_s=1.0)
    assert time.monotonic() - began >= 1.0  # asked again until the timeout, not once
