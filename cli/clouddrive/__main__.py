"""``python -m clouddrive``, the same as the ``clouddrive`` command."""
import sys

from .cli import main

sys.exit(main())
