"""`python -m pipeline` runs the pulse command line."""

from .cli import main

main()
