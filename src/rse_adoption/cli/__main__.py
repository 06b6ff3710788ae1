"""`python -m rse_adoption.cli`: the same command as `rse-adoption`."""

from . import main

main()
