"""`python -m pipeline.demo OUT_DIR`: write the Nordlys Kaffe demo exports (see `pipeline.demo.generate`)."""

from pipeline.demo.generate import main

main()
