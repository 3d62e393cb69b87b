"""The insight panels for leaders; importing this package registers them all.

=================  =====================================================================
``ranking``        who is doing well, who is behind? (league tables, rank changes, drill)
``grid_stats``     what is in each grid, did its worker patrol twice today?
``trends``         what is rising? (filed, closed, overdue against last week)
``hot_topics``     what are residents raising, where? (keywords, bursts, repeats)
=================  =====================================================================

KPI tiles with sparklines stay in ``widgets.panels.kpis``.
"""

from widgets.insights import grids, ranking, topics, trends

__all__ = ["grids", "ranking", "topics", "trends"]
