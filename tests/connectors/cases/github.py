"""Contract cases for the GitHub connector: a public repository the sandbox user may
push to, with one open issue (#1) labelled "bug", beside the emulator's demo repository
(acme/api)."""

from sandbox.emulator import Emulator
from sandbox.github import GitHubEmulator
from tests.connectors.contract_case import ActionCase

REPO = "acme/billing"
TOO_LONG = "x" * 65_537  # GitHub caps issue and comment bodies at 65536 characters


def seed_repo(emulator: Emulator) -> None:
    assert isinstance(emulator, GitHubEmulator)
    emulator.add_repo(REPO, collaborators={"sandbox-user"}, labels=["bug", "triage"])
    emulator.add_issue(REPO, "Crash on start", body="Stack trace attached", labels=["bug"])


CASES = [
    ActionCase(
        "github.create_issue",
        {"repo": REPO, "title": "Login fails", "body": "Steps to reproduce…", "labels": ["bug"]},
        {"repo": REPO, "title": "Login fails", "assignees": ["not-a-collaborator"]},
        seed=seed_repo,
        notes="GitHub answers 422 for assignees who cannot be assigned in the repository",
    ),
    ActionCase(
        "github.comment_on_issue",
        {"repo": REPO, "issue_number": 1, "body": "Looking into it."},
        {"repo": REPO, "issue_number": 1, "body": TOO_LONG},
        seed=seed_repo,
    ),
    ActionCase(
        "github.add_labels",
        {"repo": REPO, "issue_number": 1, "labels": ["triage", "p1"]},
        {"repo": REPO, "issue_number": 1, "labels": ["l" * 51]},
        seed=seed_repo,
        notes="label names are at most 50 characters",
    ),
    ActionCase(
        "github.close_issue",
        {"repo": REPO, "issue_number": 1, "reason": "completed", "comment": "Fixed in v2."},
        {"repo": REPO, "issue_number": 1, "comment": TOO_LONG},
        seed=seed_repo,
    ),
    ActionCase(
        "github.list_issues",
        {"repo": REPO, "labels": ["bug"]},
        {"repo": REPO, "assignee": "not-a-collaborator"},
        seed=seed_repo,
        notes="filtering by a login that cannot be assigned is a 422",
    ),
]
