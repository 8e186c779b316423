"""The git gate's hooks, run inside its sidecar: the pre-receive hook that scans pushes with
gitleaks and forwards them upstream, and the access hook that refreshes the mirror before every
fetch (issue 5).
"""

__version__ = "0.1.0"
