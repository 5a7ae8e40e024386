"""Workbench tooling around the library: notebook support and headless notebook execution."""
