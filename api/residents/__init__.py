"""Residents under watch, their emergency contacts, consent records and assignments."""
