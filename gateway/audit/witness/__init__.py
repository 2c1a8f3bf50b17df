"""The witness an outside organisation runs for the gateway's audit log (C2SP tlog-witness)."""
