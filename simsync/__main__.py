import sys

from simsync.cli import main

sys.exit(main())
