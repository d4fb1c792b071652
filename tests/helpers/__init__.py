"""What several test modules share: running the CLI, building repositories (tests import these, never each other)."""
