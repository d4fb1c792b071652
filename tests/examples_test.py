"""The example workflows parse and keep the deploy path's promises."""

from __future__ import annotations

from pathlib import Path

import yaml

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_deploy_workflow() -> None:
    workflow = yaml.safe_load((EXAMPLES / "deploy-workflow.yml").read_text())
    jobs = workflow["jobs"]
    assert jobs["deploy-staging"]["needs"] == "sync" and jobs["deploy-production"]["needs"] == "deploy-staging"
    assert jobs["deploy-production"]["environment"] == "production"
    for job in ("deploy-staging", "deploy-production", "rollback"):
        assert jobs[job]["concurrency"]["group"].startswith("prompts-deploy-")
        assert jobs[job]["concurrency"]["cancel-in-progress"] is False
    steps = " ".join(str(step.get("run", "")) for job in jobs.values() for step in job["steps"])
    for command in ("prompthooks sync", "prompthooks deploy staging", "prompthooks deploy production", "--format k8s", "prompthooks rollback"):
        assert command in steps
    assert "workflow_dispatch" in workflow[True]  # YAML 1.1 reads the key `on` as True
