"""Every turn's audio: captured in the worker, compressed to Opus in OGG, kept in a store, played to staff."""
