"""``python -m linpc`` is the ``linpc`` command."""

import sys

from .cli import main

sys.exit(main())
