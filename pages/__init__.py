"""Gradio pages: UI only; they call onboarding functions and never touch LiveKit or the DB."""
