"""Voice onboarding console: the core library (no UI)."""
