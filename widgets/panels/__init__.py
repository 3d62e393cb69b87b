"""The built-in panels, one module each; importing this package registers them all.

``widgets.registry.BUILTIN_MODULES`` names this package, so a layout that refers to any of
these names finds it. Each panel answers one question someone in the hall asks:

=================  =====================================================================
``overview``       what needs me now? (status strip, warning tiles, newest cases)
``sla_tiles``      how many cases need me, how urgently? (red/yellow/blue/overdue/open)
``newest_cases``   what just came in? (selecting a row selects the case everywhere)
``feed_status``    can I trust what I see? (link, data age, counters, quarantine)
``alerts``         what is the platform warning about? (alert.raised, newest first)
``kpis``           are we meeting targets? (KPI tiles against their targets)
=================  =====================================================================
"""

from widgets.panels import alerts, feed_status, kpis, newest_cases, overview, sla_tiles

__all__ = ["alerts", "feed_status", "kpis", "newest_cases", "overview", "sla_tiles"]
