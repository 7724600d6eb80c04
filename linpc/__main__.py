"""``python -m linpc`` is the ``linpc`` command."""

import sys

from linpc.cli import main

sys.exit(main())
