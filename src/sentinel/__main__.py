"""`python -m sentinel ...` is the `sentinel` console script, for environments without its launcher."""
import sys

from sentinel.cli import main

sys.exit(main())
