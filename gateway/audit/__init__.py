"""The audit trail: events, their canonical encoding and the hash chain over them."""
