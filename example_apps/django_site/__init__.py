"""A Django project on the redis_sessions engine: sign up, log in, notes, your sessions, admin."""
