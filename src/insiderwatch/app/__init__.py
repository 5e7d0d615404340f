"""Use cases: what the command line and the HTTP API call. Each takes typed settings or
opened stores and returns contract records; no terminal or HTTP code here."""
