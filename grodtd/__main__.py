"""`python -m grodtd` is the same as the `grodt` command."""

from grodtd.cli import main

raise SystemExit(main())
