"""UniMD workbench: temporal action detection and moment retrieval as query-conditioned 1-D detection.

Data flows one way: ``formats`` → ``data`` → ``model`` → ``post`` → ``eval`` → ``views``;
``config`` is read by all and imports none of them.
"""

__version__ = "0.1.0"
