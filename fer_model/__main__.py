"""`python -m fer_model <command>`: see cli.py."""

from .cli import main

raise SystemExit(main())
