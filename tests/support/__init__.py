"""Test support code shared across apps: the fake OpenAI server and its fixtures."""
