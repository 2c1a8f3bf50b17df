"""Cryptography in one place: the only package importing ``cryptography`` or ``jwt``."""
