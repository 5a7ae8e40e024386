"""Typed configuration: one dataclass per section, read by every layer; imports none of them.

``config.data`` (the benchmark's files and grid), ``config.model`` (architecture, losses, inference),
``config.train`` (optimisation, schedule, loader, run) and ``config.load`` (YAML → ``Config``, also the
original UniMD YAML files).
"""
