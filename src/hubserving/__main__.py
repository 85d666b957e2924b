"""``python -m hubserving`` is ``hub``."""

import sys

from hubserving.cli.main import main

sys.exit(main())
