"""Video: one camera (``video`` panel) and a wall of them (``video_wall`` panel).

Importing the package registers both panels with the registry.
"""

from widgets.video import panel, wall  # noqa: F401  (registers the panels)
