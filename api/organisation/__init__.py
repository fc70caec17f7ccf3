"""Districts, users and their devices: the people who watch over residents, and where."""
