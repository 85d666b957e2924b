"""Ray mode: the same modules as Ray Serve deployments, on a cluster, autoscaled.

``settings`` is pure configuration (imported by ``hubserving.config``, never imports Ray). The other
files import Ray and are loaded only when a server runs with ``"ray"`` in its config.
"""
