"""Framework integrations; each submodule imports only its own framework."""
