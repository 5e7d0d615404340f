"""Investigation: timelines of what an employee did, and (later) leak attribution."""
