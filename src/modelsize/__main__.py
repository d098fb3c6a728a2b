"""``python -m modelsize`` runs the command line."""

import sys

from modelsize.cli.entry import main

if __name__ == "__main__":
    sys.exit(main())
