"""The audit log of personal-data reads and changes, as coordinators read it."""
