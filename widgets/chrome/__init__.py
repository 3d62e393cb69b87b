"""Window chrome: what frames the panels rather than being one.

Command palette, status bar, time slider, replay decoration, briefing bar and
the briefing report. Panels never import chrome; the shell (``layouts``) puts
them around the panels.
"""
