"""The county map (一张图). Importing this package registers the ``map`` panel."""

from widgets.map import panel

__all__ = ["panel"]
