"""``python -m app.cli``: the ``attune`` command (what :class:`devices.source.ProcessSource` runs)."""

import sys

from app.cli import main

sys.exit(main())
