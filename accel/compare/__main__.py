"""``python -m accel.compare``: see ``accel.compare.cli`` (or ``--help``)."""
import sys

from .cli import main

sys.exit(main())
