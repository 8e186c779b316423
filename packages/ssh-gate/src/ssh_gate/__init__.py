"""The ssh gate's config reader and entrypoint: one TCP forwarder per declared SSH upstream, with
ExtraHosts pins and health reporting (issue 4).
"""

__version__ = "0.1.0"
