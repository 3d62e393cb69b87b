"""The live source kinds of ``feeds.sources.registry``: one module each, wrapping the
transport or adapter that does the work (none of them re-implements it)."""
