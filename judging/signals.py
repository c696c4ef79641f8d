"""What judging announces to the apps above it (judging imports none of them).

``override_created`` is sent inside the transaction that stores a reviewer's override,
with ``override``: the sessions app listens to keep the session's stored score summary
up to date.
"""

from django.dispatch import Signal

override_created = Signal()
