"""A setting the environment gives wrong is named with its rule before any work starts:
stderr says which variable, what it held and what is expected; the exit code is 2."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from infra.cli import _mount, app


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    _mount()
    return CliRunner()


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        (
            ["process"],
            {"FQ_PRODUCER_BATCH_BYTES": "10"},
            "FQ_PRODUCER_BATCH_BYTES='10': Input should be greater than or equal to 1024",
        ),
        (["process"], {"FQ_LOG_LEVEL": "loud"}, "FQ_LOG_LEVEL='loud': String should match pattern"),
        (
            ["project"],
            {"FQ_PROJECTOR_BATCH": "many"},
            "FQ_PROJECTOR_BATCH='many': Input should be a valid integer",
        ),
        (
            ["simulate", "--days", "1", "--out", "/dev/null"],
            {"FQ_SIM_SEED": "x"},
            "FQ_SIM_SEED='x': Input should be a valid integer",
        ),
    ],
)
def test_a_wrong_setting_is_named_and_exits_2(
    runner: CliRunner, argv: list[str], env: dict[str, str], expected: str
) -> None:
    result = runner.invoke(app, argv, env=env)
    assert result.exit_code == 2, result.output
    flat = " ".join(result.stderr.split())
    assert expected in flat
    assert "Traceback" not in result.stderr
