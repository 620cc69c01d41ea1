"""test/integration/prefect/it_flow.py for Prefect 2.20: the same flows and parameters, less the artifact types 2.x lacks (progress, image)."""

import sys
import time

from prefect import flow, get_run_logger, serve, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact


@flow(name="it-flow", log_prints=True)
def it_flow(outcome: str = "succeed", sleep_seconds: float = 0.0, message: str = "hello", count: int = 1, lines: int = 0) -> dict:
    """outcome: succeed | fail; lines: how many numbered log lines to write, after `message` as it is"""
    logger = get_run_logger()
    logger.info("message=%r count=%r outcome=%r", message, count, outcome)
    logger.info(message)
    for i in range(lines):
        logger.info("line %05d of %d", i, lines)
    if sleep_seconds:
        time.sleep(sleep_seconds)
    if outcome == "fail":
        raise RuntimeError(f"failing on purpose: {message}")
    return {"message": message, "count": count}


REPORT = """# Nightly report

- rows: {rows}
- failed task: {failed}
"""


@task
def extract(rows: int) -> list:
    return [{"name": f"item-{i}", "score": i * 10} for i in range(rows)]


@task
def score(data: list) -> list:
    create_table_artifact(key="scores", table=data, description="Scores by item")
    return data


@task
def check(data: list, fail: bool) -> int:
    if fail:
        raise RuntimeError("check failed on purpose")
    return len(data)


@flow(name="it-report", log_prints=True)
def it_report(fail_task: bool = False, rows: int = 3):
    """Three tasks (extract, score, check) and the artifact types 2.x has; fail_task makes `check` fail, and so the run."""
    create_markdown_artifact(key="status", markdown="draft", description="First version")
    data = extract(rows)
    scored = score(data)
    checked = check(scored, fail_task, return_state=True)
    create_markdown_artifact(key="report", markdown=REPORT.format(rows=rows, failed=fail_task), description="The run's report")
    create_link_artifact(key="dashboard", link="https://example.com/dashboard", link_text="Dashboard")
    create_table_artifact(key="pairs", table=[["a", 1], ["b", 2]])
    create_markdown_artifact(key="status", markdown="final", description="Second version")
    return checked


if __name__ == "__main__":
    name = sys.argv[1] if len(sys.argv) > 1 else "it-deployment"
    serve(it_flow.to_deployment(name=name), it_report.to_deployment(name=name), pause_on_shutdown=False, limit=10)
