"""Response: deliver alerts to people and systems, and contain insiders by playbook.

Takes contract records (alert history lines), never detector classes or detection tables.
See docs/respond.md.
"""
