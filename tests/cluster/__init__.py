"""Redis Cluster under change: slots resharded under load, and `list_sessions` walks under churn."""
