"""One module per console page; each defines ``pages = Pages(__name__)`` and registers
its routes on it (see ``web/console/registry.py`` and docs/console.md)."""
