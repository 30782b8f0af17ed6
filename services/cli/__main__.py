"""`python -m services.cli`: the command line of services/cli/commands.py."""

import sys

from services.cli.commands import main

sys.exit(main())
