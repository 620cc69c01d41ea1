"""The flows served for the integration tests, the demo and the older servers of test/compat/: parameters choose how a run ends and what it produces."""

import sys
import time

from prefect import flow, get_run_logger, serve, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

try:
    from prefect.artifacts import create_image_artifact, create_progress_artifact, update_progress_artifact
except ImportError:
    # Prefect 2.x has no progress or image artifacts: on it, it-report makes the other types only.
    create_image_artifact = create_progress_artifact = update_progress_artifact = None


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


# What a summary must show as text: a heading, a list, and workflow commands that must not run.
REPORT = """# Nightly report

- rows: {rows}
- failed task: {failed}

::set-output name=x::pwned
::add-mask::x
"""


@task
def extract(rows: int) -> list[dict]:
    progress = create_progress_artifact and create_progress_artifact(progress=25.0, key="progress", description="Rows extracted")
    data = [{"name": f"item-{i}", "score": i * 10} for i in range(rows)]
    if progress:
        update_progress_artifact(artifact_id=progress, progress=75.0)
    return data


@task
def score(data: list[dict]) -> list[dict]:
    create_table_artifact(key="scores", table=data, description="Scores by item")
    return data


@task
def check(data: list[dict], fail: bool) -> int:
    if fail:
        raise RuntimeError("check failed on purpose")
    return len(data)


@flow(name="it-report", log_prints=True)
def it_report(fail_task: bool = False, rows: int = 3):
    """Three tasks (extract, score, check) and artifacts of every type the server has; fail_task makes `check` fail, and so the run, after all three ran."""
    create_markdown_artifact(key="status", markdown="draft", description="First version")
    data = extract(rows)
    scored = score(data)
    checked = check(scored, fail_task, return_state=True)
    create_markdown_artifact(key="report", markdown=REPORT.format(rows=rows, failed=fail_task), description="The run's report")
    create_link_artifact(key="dashboard", link="https://example.com/dashboard", link_text="Dashboard")
    create_table_artifact(key="pairs", table=[["a", 1], ["b", 2]])
    create_table_artifact(table={"metric": ["rows", "failed"], "value": [rows, int(fail_task)]}, description="Counts, no key")
    if create_image_artifact:
        create_image_artifact(key="chart", image_url="https://example.com/chart.png")
    create_markdown_artifact(key="status", markdown="final", description="Second version")
    # A failed state returned is the run's final state.
    return checked


if __name__ == "__main__":
    # One process serves both deployments, under the same name, and runs their flow runs in subprocesses.
    name = sys.argv[1] if len(sys.argv) > 1 else "it-deployment"
    serve(it_flow.to_deployment(name=name), it_report.to_deployment(name=name), pause_on_shutdown=False, limit=10)
