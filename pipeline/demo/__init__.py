"""The Nordlys Kaffe ApS demo: deterministic sales and support exports for the demo project and the tests.

Not part of the pipeline: nothing under pipeline/ but `pulse init --demo` uses it.
`python -m pipeline.demo OUT_DIR [--until YYYY-MM|last]` writes the exports.
"""
