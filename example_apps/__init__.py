"""Runnable examples of redis_sessions (see ``scripts/demo.sh``)."""
