"""Use cases: each names its actor, checks permissions and policy, and writes its audit entry
in the same transaction as the change it records."""
