"""Workbench tooling around the library: notebook support and headless notebook execution (the benchmark helpers
that notebook 04 uses live in the checkout's `benchmarks/` folder, outside the installed package)."""
