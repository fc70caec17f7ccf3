"""Contact notes over REST: the office reads a resident's or a district's notes, records the call
or visit it just made, and corrects a note within the organisation's correction window. Validation,
consent checks and the contact listener are the sync push's own (`sync.notes`)."""
