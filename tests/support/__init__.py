"""Helpers shared by tests: test doubles of ports and real servers on ephemeral ports."""
