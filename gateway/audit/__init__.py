"""The audit trail: events, their canonical encoding, the Merkle log and its verification."""
