"""Use cases: what the command line and the HTTP API call, returning contract records."""
