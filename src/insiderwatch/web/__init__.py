"""The service: HTTP collector, the store's single writer, live detection, the API."""
