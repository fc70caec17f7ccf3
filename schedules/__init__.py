"""Visit plans, occurrences, reminders, missed-contact detection and the scheduler.

Importing the package registers its messages and the contact-recorded listener.
"""

from schedules import contacts, messages, reassignment  # noqa: F401
