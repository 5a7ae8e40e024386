import sys

from unimd_lib.cli import main

sys.exit(main())
