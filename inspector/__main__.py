"""``python -m inspector`` runs the ``bnfold`` command line."""

import sys

from .cli import main

sys.exit(main())
