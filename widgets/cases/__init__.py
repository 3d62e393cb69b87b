"""The case desk: queue, detail, dispatch dialog, alarms and audit log.

Importing the package registers its panels (``widgets.registry.BUILTIN_MODULES`` names it).
"""

from widgets.cases import alarms, audit_view, detail, queue  # noqa: F401  (registration)
