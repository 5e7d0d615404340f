"""Where notices go. Each module is one kind of sink, registered in ``sinks``."""
