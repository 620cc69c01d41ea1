"""A flow whose parameters choose how its run ends, served for the integration tests and the demo."""

import sys
import time

from prefect import flow, get_run_logger


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


if __name__ == "__main__":
    # One process serves the deployment and runs its flow runs in subprocesses.
    it_flow.serve(name=sys.argv[1] if len(sys.argv) > 1 else "it-deployment", pause_on_shutdown=False, limit=10)
