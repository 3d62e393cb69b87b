"""The metric catalogue: every number the hall shows, defined once.

``catalogue`` says what each metric is (formula, population, window, unit, target and
direction, minimum sample); ``engine`` computes them over the store for every consumer
(KPI and warning tiles, the map legend, rankings, briefing screens, the PDF); ``explain``
turns a value into the sentence a tooltip or a footnote prints. See docs/architecture.md.
"""
