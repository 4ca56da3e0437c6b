"""`python -m pipeline` runs the pulse command line."""

from pipeline.app.cli import main

main()
