"""``python -m workbench``: the command line (see :mod:`workbench._cli`), exiting with its code."""

from ._cli import main

raise SystemExit(main())
