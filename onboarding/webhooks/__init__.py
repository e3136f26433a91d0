"""Webhooks: events written to an outbox in the transaction that caused them, signed, sent and retried."""
