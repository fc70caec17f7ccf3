"""Shared domain code: ORM models, database session, change feed, access rules, clock, settings.

Every other package (api, sync, schedules, notifications) may import this one; it imports none of them.
"""
